//! SMS segment counting, the way carriers (and Twilio) split a message.
//!
//! A message whose every character is in the GSM 03.38 default alphabet (or its extension table)
//! is sent as GSM-7: 160 septets fit one segment, and a concatenated message carries 153 per
//! segment (7 go to the user-data header). Extension characters (`^{}\[~]|€` and form feed) take
//! two septets (escape + character) and are never split across segments. Anything else forces
//! UCS-2 for the whole message: 70 UTF-16 code units in one segment, 67 per segment when
//! concatenated, and a surrogate pair (most emoji) is never split either.

use serde::Serialize;

/// The encoding a message will be sent in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Encoding {
    Gsm7,
    Ucs2,
}

/// How a message splits into segments.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Segments {
    pub encoding: Encoding,
    /// Number of segments billed (0 for an empty message).
    pub segments: usize,
    /// Septets (GSM-7) or UTF-16 code units (UCS-2) in the whole message.
    pub units: usize,
    /// Units still free in the last segment.
    pub remaining_in_segment: usize,
    /// For UCS-2 messages: the characters that are not GSM-7 (deduplicated, in order), so an
    /// editor can say which character made the message expensive.
    pub non_gsm_characters: Vec<char>,
}

/// The GSM 03.38 basic character set.
const GSM_BASIC: &str = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\u{1b}ÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?\
¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà";

/// The GSM 03.38 extension table (each costs an escape septet too).
const GSM_EXTENDED: &str = "\u{0c}^{}\\[~]|€";

fn gsm_septets(c: char) -> Option<usize> {
    if GSM_BASIC.contains(c) {
        Some(1)
    } else if GSM_EXTENDED.contains(c) {
        Some(2)
    } else {
        None
    }
}

/// Counts the segments `text` takes as an SMS.
pub fn sms_segments(text: &str) -> Segments {
    let non_gsm: Vec<char> =
        text.chars()
            .filter(|c| gsm_septets(*c).is_none())
            .fold(Vec::new(), |mut seen, c| {
                if !seen.contains(&c) {
                    seen.push(c);
                }
                seen
            });
    if non_gsm.is_empty() {
        let units: Vec<usize> = text.chars().filter_map(gsm_septets).collect();
        split(Encoding::Gsm7, &units, 160, 153, non_gsm)
    } else {
        let units: Vec<usize> = text.chars().map(char::len_utf16).collect();
        split(Encoding::Ucs2, &units, 70, 67, non_gsm)
    }
}

/// Packs indivisible characters (of `units` each) into segments.
fn split(
    encoding: Encoding,
    units: &[usize],
    single: usize,
    multi: usize,
    non_gsm_characters: Vec<char>,
) -> Segments {
    let total: usize = units.iter().sum();
    let (segments, remaining_in_segment) = if total == 0 {
        (0, single)
    } else if total <= single {
        (1, single - total)
    } else {
        let mut segments = 1;
        let mut used = 0;
        for &u in units {
            if used + u > multi {
                segments += 1;
                used = 0;
            }
            used += u;
        }
        (segments, multi - used)
    };
    Segments {
        encoding,
        segments,
        units: total,
        remaining_in_segment,
        non_gsm_characters,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_message_has_no_segments() {
        let s = sms_segments("");
        assert_eq!((s.encoding, s.segments, s.units), (Encoding::Gsm7, 0, 0));
    }

    #[test]
    fn gsm_boundary_is_160_then_153_per_segment() {
        assert_eq!(sms_segments(&"a".repeat(160)).segments, 1);
        assert_eq!(sms_segments(&"a".repeat(161)).segments, 2);
        assert_eq!(sms_segments(&"a".repeat(306)).segments, 2);
        assert_eq!(sms_segments(&"a".repeat(307)).segments, 3);
        assert_eq!(sms_segments(&"a".repeat(160)).remaining_in_segment, 0);
    }

    #[test]
    fn extension_characters_cost_two_septets_and_do_not_split() {
        let s = sms_segments(&"€".repeat(80));
        assert_eq!((s.encoding, s.units, s.segments), (Encoding::Gsm7, 160, 1));
        // 152 plain septets, then an escape pair that would straddle the 153 boundary: it
        // moves whole to the next segment, so 306 septets need three segments, not two.
        let text = format!("{}[{}", "a".repeat(152), "a".repeat(152));
        let s = sms_segments(&text);
        assert_eq!((s.units, s.segments), (306, 3));
        assert_eq!(s.remaining_in_segment, 153 - 1);
    }

    #[test]
    fn a_single_non_gsm_character_switches_to_ucs2() {
        let s = sms_segments("Café déjà vu — ok");
        assert_eq!(s.encoding, Encoding::Ucs2);
        assert_eq!(s.non_gsm_characters, vec!['—']);
        assert_eq!(sms_segments(&"ж".repeat(70)).segments, 1);
        assert_eq!(sms_segments(&"ж".repeat(71)).segments, 2);
        assert_eq!(sms_segments(&"ж".repeat(134)).segments, 2);
        assert_eq!(sms_segments(&"ж".repeat(135)).segments, 3);
    }

    #[test]
    fn emoji_count_as_two_units_and_are_not_split() {
        let s = sms_segments("🎉");
        assert_eq!((s.encoding, s.units, s.segments), (Encoding::Ucs2, 2, 1));
        let text = format!("{}🎉", "ж".repeat(66));
        let s = sms_segments(&text);
        assert_eq!((s.units, s.segments), (68, 1));
        let text = format!("{}🎉x", "ж".repeat(66));
        let s = sms_segments(&text);
        // 69 units still fit one 70-unit segment.
        assert_eq!((s.units, s.segments), (69, 1));
        let text = format!("{}🎉", "ж".repeat(69));
        assert_eq!(sms_segments(&text).segments, 2);
    }

    #[test]
    fn gsm_accented_letters_stay_gsm() {
        let s = sms_segments("Ça coûte 5€ à Zürich? ñ ü é è");
        // 'û' is not GSM: the message must go UCS-2 and say so.
        assert_eq!(s.encoding, Encoding::Ucs2);
        assert_eq!(s.non_gsm_characters, vec!['û']);
        assert_eq!(
            sms_segments("Ça coute 5€ à Zürich? ñ ü é è").encoding,
            Encoding::Gsm7
        );
    }
}
