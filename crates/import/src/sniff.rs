//! Delimiter sniffing. Spreadsheets export with `,`, `;` (locales with a decimal comma), tab or
//! `|`. For each candidate the first records of the sample are split quote-aware (a delimiter
//! inside `"…"` does not count, and a quoted field may span lines); the candidate that splits the
//! header into the most fields and then splits most records the same way wins.

const CANDIDATES: [u8; 4] = [b',', b';', b'\t', b'|'];
const RECORDS: usize = 50;

/// The most likely delimiter of `sample` (UTF-8 text from the start of the file); `,` when
/// nothing is convincing.
pub fn delimiter(sample: &[u8]) -> u8 {
    let mut best = (b',', 0usize, 0usize);
    for candidate in CANDIDATES {
        let counts = counts_per_record(sample, candidate);
        let Some(&header) = counts.first() else {
            continue;
        };
        if header == 0 {
            continue;
        }
        let consistent = counts.iter().filter(|&&c| c == header).count();
        if (consistent, header) > (best.1, best.2) {
            best = (candidate, consistent, header);
        }
    }
    best.0
}

/// Delimiters outside quotes in each of the first complete records of `sample`.
fn counts_per_record(sample: &[u8], delimiter: u8) -> Vec<usize> {
    let mut counts = Vec::new();
    let mut in_quotes = false;
    let mut count = 0;
    for &byte in sample {
        match byte {
            b'"' => in_quotes = !in_quotes,
            b'\n' if !in_quotes => {
                counts.push(count);
                count = 0;
                if counts.len() == RECORDS {
                    break;
                }
            }
            b if b == delimiter && !in_quotes => count += 1,
            _ => {}
        }
    }
    // A sample that is the whole file may lack a final newline; its last record still counts.
    if counts.is_empty() && count > 0 {
        counts.push(count);
    }
    counts
}

#[cfg(test)]
mod tests {
    use super::delimiter;

    #[test]
    fn common_delimiters_are_found() {
        assert_eq!(delimiter(b"a,b,c\n1,2,3\n"), b',');
        assert_eq!(delimiter(b"a;b;c\n1,5;2,5;3\n"), b';');
        assert_eq!(delimiter(b"a\tb\n1\t2\n"), b'\t');
        assert_eq!(delimiter(b"a|b|c\n1|2|3"), b'|');
    }

    #[test]
    fn delimiters_inside_quotes_do_not_count() {
        let sample = b"name;note\n\"Smith, John\";\"a, b, c\"\n\"Doe, Jane\";\"x\ny, z\"\n";
        assert_eq!(delimiter(sample), b';');
    }

    #[test]
    fn a_single_column_defaults_to_comma() {
        assert_eq!(delimiter(b"email\na@example.com\n"), b',');
    }
}
