//! Text measurement with the embedded fonts' advances: string widths to align numbers and to
//! cut cells that would overflow. Bold is drawn by stroking the outline as well as filling it
//! (one font file instead of two), which widens glyphs by a fraction of the stroke only.

use crate::font;

/// Advance width of one character in thousandths of an em.
fn advance(c: char, _bold: bool) -> f32 {
    let (font, glyph) = font::glyph_for(c);
    font.face().advance(glyph)
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
    fn widths_come_from_the_font() {
        // DejaVu Sans: "i" is narrower than "m", digits share one width.
        assert!(width("i", 10.0, false) < width("m", 10.0, false));
        assert_eq!(width("0", 10.0, false), width("9", 10.0, false));
        assert!(width("Zażółć", 10.0, false) > 0.0);
    }

    #[test]
    fn long_text_is_cut_to_fit() {
        let cut = fit("a very long campaign name indeed", 10.0, false, 60.0);
        assert!(cut.ends_with('…'));
        assert!(width(&cut, 10.0, false) <= 60.0);
        assert_eq!(fit("short", 10.0, false, 60.0), "short");
    }
}
