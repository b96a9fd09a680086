//! Text for the base-14 Helvetica fonts: encoding to WinAnsi (Latin-1 and the typographic
//! quotes and dashes; anything else becomes `?`) and string widths from Helvetica's metrics,
//! close enough to align numbers and to cut cells that would overflow.

/// `text` in WinAnsiEncoding.
pub fn encode(text: &str) -> Vec<u8> {
    text.chars()
        .map(|c| match c {
            '\u{20}'..='\u{7e}' => c as u8,
            '\u{a0}'..='\u{ff}' => c as u32 as u8,
            '\u{2013}' => 0x96,
            '\u{2014}' => 0x97,
            '\u{2018}' => 0x91,
            '\u{2019}' => 0x92,
            '\u{201c}' => 0x93,
            '\u{201d}' => 0x94,
            '\u{2022}' => 0x95,
            '\u{20ac}' => 0x80,
            '\u{2026}' => 0x85,
            _ => b'?',
        })
        .collect()
}

/// Advance width of one character in thousandths of an em (Helvetica's AFM, coarsened).
fn advance(c: char, bold: bool) -> f32 {
    let w = match c {
        ' ' | '!' | ',' | '.' | ':' | ';' | '/' | '[' | ']' | '\\' | 'f' | 't' | 'I' => 278.0,
        'i' | 'j' | 'l' | '\'' | '|' => 222.0,
        '(' | ')' | '-' | 'r' => 333.0,
        '0'..='9' | '$' | '#' | '_' | '?' => 556.0,
        '%' => 889.0,
        'm' | 'M' => 833.0,
        'w' => 722.0,
        'W' => 944.0,
        'a'..='z' => 556.0,
        'A'..='Z' => 667.0,
        _ => 584.0,
    };
    if bold { w * 1.06 } else { w }
}

/// Width of `text` at `size` points.
pub fn width(text: &str, size: f32, bold: bool) -> f32 {
    text.chars().map(|c| advance(c, bold)).sum::<f32>() * size / 1000.0
}

/// `text`, shortened with an ellipsis so that it fits in `max` points.
pub fn fit(text: &str, size: f32, bold: bool, max: f32) -> String {
    if width(text, size, bold) <= max {
        return text.to_string();
    }
    let mut out = String::new();
    for c in text.chars() {
        if width(&out, size, bold) + advance(c, bold) * size / 1000.0 + width("…", size, bold) > max
        {
            break;
        }
        out.push(c);
    }
    out.push('…');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latin_text_is_encoded_and_the_rest_replaced() {
        assert_eq!(encode("Café – 5€"), b"Caf\xe9 \x96 5\x80".to_vec());
        assert_eq!(encode("報告"), b"??".to_vec());
    }

    #[test]
    fn long_text_is_cut_to_fit() {
        let cut = fit("a very long campaign name indeed", 10.0, false, 60.0);
        assert!(cut.ends_with('…'));
        assert!(width(&cut, 10.0, false) <= 60.0);
        assert_eq!(fit("short", 10.0, false, 60.0), "short");
    }
}
