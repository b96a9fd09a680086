//! Report PDFs. A [`Document`] (title, filter lines, KPI cards, one bar chart, tables) is laid
//! out on A4 pages in DejaVu Sans, with Droid Sans Fallback for Chinese, Japanese and Korean,
//! each embedded as a subset with a ToUnicode map (see [`font`]), so Polish, Greek, Cyrillic or
//! CJK titles and values print and stay extractable; tables continue on
//! new pages with their header repeated, and every page carries "Page i of n". The crate is kept apart from the rest because PDF writing is a
//! concern of its own: nothing else needs to rebuild when it changes.

mod font;
mod layout;
mod text;

pub use layout::render;

/// A report as it should appear on paper.
#[derive(Clone, Debug, Default)]
pub struct Document {
    pub title: String,
    /// Lines under the title: period, filters, when it was generated.
    pub subtitle: Vec<String>,
    pub kpis: Vec<Kpi>,
    pub chart: Option<BarChart>,
    pub tables: Vec<Table>,
}

/// One summary card: a label, the value as displayed, and an optional change line
/// (`positive` colours it green, `Some(false)` red).
#[derive(Clone, Debug)]
pub struct Kpi {
    pub label: String,
    pub value: String,
    pub change: Option<String>,
    pub positive: Option<bool>,
}

#[derive(Clone, Debug)]
pub struct BarChart {
    pub title: String,
    /// (label, value) per bar, in order.
    pub bars: Vec<(String, f64)>,
}

#[derive(Clone, Debug)]
pub struct Table {
    pub title: String,
    pub headers: Vec<String>,
    /// Cells as displayed; numbers are right-aligned when `numeric[column]` is set.
    pub rows: Vec<Vec<String>>,
    pub numeric: Vec<bool>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn document(rows: usize) -> Document {
        Document {
            title: "Weekly channel performance".into(),
            subtitle: vec![
                "2024-03-01 to 2024-03-31 (Europe/Paris)".into(),
                "Filters: channel = email".into(),
            ],
            kpis: vec![
                Kpi {
                    label: "Sessions".into(),
                    value: "12,345".into(),
                    change: Some("+12.5% vs previous".into()),
                    positive: Some(true),
                },
                Kpi {
                    label: "Revenue".into(),
                    value: "9,876.50".into(),
                    change: None,
                    positive: None,
                },
            ],
            chart: Some(BarChart {
                title: "Sessions by day".into(),
                bars: (0..rows.min(40))
                    .map(|i| (format!("d{i}"), (i * 7 % 13) as f64))
                    .collect(),
            }),
            tables: vec![Table {
                title: "By day".into(),
                headers: vec!["Day".into(), "Sessions".into(), "Revenue".into()],
                rows: (0..rows)
                    .map(|i| vec![format!("row-{i:04}"), format!("{}", i * 3), "1.50".into()])
                    .collect(),
                numeric: vec![false, true, true],
            }],
        }
    }

    #[test]
    fn text_of_every_part_can_be_extracted() {
        let bytes = render(&document(10));
        assert!(bytes.starts_with(b"%PDF-"));
        let text = pdf_extract::extract_text_from_mem(&bytes).unwrap();
        for needle in [
            "Weekly channel performance",
            "Filters: channel = email",
            "Sessions",
            "12,345",
            "+12.5% vs previous",
            "Sessions by day",
            "row-0009",
            "Page 1 of 1",
        ] {
            assert!(text.contains(needle), "{needle:?} missing from:\n{text}");
        }
    }

    #[test]
    fn long_tables_continue_on_numbered_pages_with_their_header() {
        let bytes = render(&document(200));
        let text = pdf_extract::extract_text_from_mem(&bytes).unwrap();
        let pages = text.matches("Page ").count();
        assert!(pages >= 4, "200 rows need several pages:\n{text}");
        assert!(text.contains(&format!("Page {pages} of {pages}")));
        assert!(text.contains("row-0000") && text.contains("row-0199"));
        assert!(
            text.matches("Revenue").count() >= pages,
            "the header is repeated"
        );
    }

    #[test]
    fn polish_greek_and_cyrillic_text_is_extracted_exactly() {
        let mut doc = document(3);
        doc.title = "Raport: Zażółć gęślą jaźń".into();
        doc.subtitle = vec!["Έκθεση πωλήσεων – Ελλάδα".into(), "Отчёт о продажах".into()];
        doc.kpis[0].label = "Sesje użytkowników".into();
        doc.kpis[1].value = "12 345,50 zł".into();
        doc.tables[0].rows[0][0] = "Łódź".into();
        doc.tables[0].rows[1][0] = "Αθήνα".into();
        doc.tables[0].rows[2][0] = "Москва".into();
        let bytes = render(&doc);
        let text = pdf_extract::extract_text_from_mem(&bytes).unwrap();
        for needle in [
            "Raport: Zażółć gęślą jaźń",
            "Έκθεση πωλήσεων – Ελλάδα",
            "Отчёт о продажах",
            "Sesje użytkowników",
            "12 345,50 zł",
            "Łódź",
            "Αθήνα",
            "Москва",
            "Page 1 of 1",
        ] {
            assert!(text.contains(needle), "{needle:?} missing from:\n{text}");
        }
        // a subset, not the whole 740 KB font.
        assert!(bytes.len() < 60_000, "{} bytes", bytes.len());
    }

    #[test]
    fn chinese_japanese_and_korean_text_is_drawn_with_the_fallback_font_and_extracted() {
        let mut doc = document(3);
        doc.title = "売上レポート 2024 – Q1".into();
        doc.subtitle = vec!["销售报告（华东区）".into(), "매출 보고서: 서울".into()];
        doc.kpis[0].label = "セッション".into();
        doc.tables[0].rows[0][0] = "東京".into();
        doc.tables[0].rows[1][0] = "Zürich 취리히".into();
        let bytes = render(&doc);
        let text = pdf_extract::extract_text_from_mem(&bytes).unwrap();
        for needle in [
            "売上レポート 2024 – Q1",
            "销售报告（华东区）",
            "매출 보고서: 서울",
            "セッション",
            "東京",
            "Zürich 취리히",
            "Page 1 of 1",
        ] {
            assert!(text.contains(needle), "{needle:?} missing from:\n{text}");
        }
        let pdf = String::from_utf8_lossy(&bytes);
        assert!(
            pdf.contains("DroidSansFallback"),
            "the fallback is embedded"
        );
        // subsets of both fonts, not the 4 MB fallback
        assert!(bytes.len() < 120_000, "{} bytes", bytes.len());
    }

    #[test]
    fn characters_that_share_a_glyph_extract_as_written() {
        // Droid Sans Fallback draws U+4E0D and its compatibility twin U+F967 with one glyph,
        // and the jamo U+1100 with the compatibility jamo U+3131
        let mut doc = document(1);
        doc.title = "\u{4E0D}\u{F967} \u{3131}\u{1100}".into();
        let text = pdf_extract::extract_text_from_mem(&render(&doc)).unwrap();
        assert!(
            text.contains("\u{4E0D}\u{F967} \u{3131}\u{1100}"),
            "{:?}",
            text.lines().find(|l| !l.trim().is_empty())
        );
    }

    #[test]
    fn the_fallback_font_is_embedded_only_when_needed() {
        let bytes = render(&document(3));
        assert!(!String::from_utf8_lossy(&bytes).contains("DroidSansFallback"));
    }

    #[test]
    fn characters_outside_both_fonts_do_not_break_the_file() {
        // Ethiopic is in neither font: it prints as the empty box and the rest stays.
        let mut doc = document(1);
        doc.title = "Café (Q1) \\ ሰላም 報告 – “quotes”".into();
        let text = pdf_extract::extract_text_from_mem(&render(&doc)).unwrap();
        assert!(text.contains("Café (Q1) \\"), "{text}");
        assert!(text.contains("報告 – “quotes”"), "{text}");
    }
}
