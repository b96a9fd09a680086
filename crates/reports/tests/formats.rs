//! Every format, opened by a parser: the CSV re-read, the workbook read back with calamine
//! (typed cells, number formats, frozen header, the chart), the PDF's text extracted.

use std::io::Read;

use calamine::{Data, Reader, Xlsx};
use chrono::NaiveDate;
use gimbal_reports::{
    Format,
    data::{ReportData, Row},
    definition, render,
};
use serde_json::{Value, json};

fn report(dimension: &str, format: &str) -> ReportData {
    let definition = json!({
        "metrics": ["sessions", "revenue", "delivery_rate", "roas"],
        "dimensions": [dimension],
        "range": {"from": "2024-03-01", "to": "2024-03-03"},
        "time_zone": "Europe/Paris",
        "filters": {"channel": "email"},
        "layout": {"title": "Channel performance", "kpis": ["sessions", "revenue"]},
        "format": format,
    });
    let report = definition::validate(&definition, "saved", None, |_| {
        NaiveDate::from_ymd_opt(2024, 3, 15)
    })
    .unwrap();
    let rows = (1..=3)
        .map(|d| {
            let figures = json!({
                "sessions": 1000 * d, "revenue": format!("{}.75", 250 * d), "spend": if d == 2 { json!(0) } else { json!(100) },
                "messages_sent": 200, "messages_delivered": 190 + d,
            });
            Row {
                label: format!("2024-03-0{d}"),
                date: NaiveDate::from_ymd_opt(2024, 3, d),
                figures: figures.as_object().unwrap().clone(),
            }
        })
        .collect();
    let summary = json!({
        "current": {"sessions": 6000, "revenue": "1501.50", "spend": 200},
        "previous": {"sessions": 4000, "revenue": "1501.50", "spend": 0},
    });
    ReportData {
        report,
        rows,
        summary,
    }
}

#[test]
fn csv_reads_back_with_names_and_plain_numbers() {
    let bytes = render::render(&report("date", "csv")).unwrap();
    let mut reader = csv::Reader::from_reader(bytes.as_slice());
    assert_eq!(
        reader.headers().unwrap().iter().collect::<Vec<_>>(),
        ["date", "sessions", "revenue", "delivery_rate", "roas"]
    );
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 3);
    assert_eq!(
        rows[0].iter().collect::<Vec<_>>(),
        ["2024-03-01", "1000", "250.75", "0.955000", "2.51"]
    );
    // spend 0: roas is unknown, an empty cell, not infinity.
    assert_eq!(&rows[1][4], "");
}

fn zip_entry(bytes: &[u8], name: &str) -> String {
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes)).unwrap();
    let mut text = String::new();
    archive
        .by_name(name)
        .unwrap()
        .read_to_string(&mut text)
        .unwrap();
    text
}

#[test]
fn xlsx_has_typed_cells_formats_a_frozen_header_and_a_chart() {
    let data = report("date", "xlsx");
    assert_eq!(data.report.format, Format::Xlsx);
    let bytes = render::render(&data).unwrap();
    let mut workbook: Xlsx<_> = Xlsx::new(std::io::Cursor::new(bytes.clone())).unwrap();
    assert_eq!(workbook.sheet_names(), ["Report", "Summary"]);
    let sheet = workbook.worksheet_range("Report").unwrap();
    assert_eq!(sheet.get((0, 0)), Some(&Data::String("Date".into())));
    assert_eq!(sheet.get((0, 1)), Some(&Data::String("Sessions".into())));
    // a real date cell, and numbers as numbers.
    match sheet.get((1, 0)) {
        // 45352 is 2024-03-01 in Excel's day count.
        Some(Data::DateTime(d)) => assert!(d.is_datetime() && d.as_f64() == 45352.0, "{d:?}"),
        other => panic!("date cell expected, got {other:?}"),
    }
    assert_eq!(sheet.get((1, 1)), Some(&Data::Float(1000.0)));
    assert_eq!(sheet.get((3, 2)), Some(&Data::Float(750.75)));
    assert!(
        matches!(sheet.get((2, 4)), None | Some(Data::Empty)),
        "roas over zero spend is left empty"
    );
    let summary = workbook.worksheet_range("Summary").unwrap();
    assert_eq!(
        summary.get((0, 0)),
        Some(&Data::String("Channel performance".into()))
    );
    assert_eq!(
        summary.get((6, 3)),
        Some(&Data::Float(0.5)),
        "sessions change +50%"
    );
    let sheet_xml = zip_entry(&bytes, "xl/worksheets/sheet1.xml");
    assert!(
        sheet_xml.contains(r#"state="frozen""#) && sheet_xml.contains(r#"ySplit="1""#),
        "frozen header"
    );
    assert!(
        sheet_xml.contains(r#"<col min="2" max="5" width="16.7109375" customWidth="1"/>"#),
        "column widths are set"
    );
    assert!(
        zip_entry(&bytes, "xl/styles.xml").contains("0.00%"),
        "rates are formatted as percentages"
    );
    assert!(
        zip_entry(&bytes, "xl/charts/chart1.xml").contains("Report!$B$2:$B$4"),
        "the chart plots the first metric"
    );
}

#[test]
fn pdf_text_has_title_filters_cards_chart_table_and_page_numbers() {
    let bytes = render::render(&report("channel", "pdf")).unwrap();
    let text = pdf_extract::extract_text_from_mem(&bytes).unwrap();
    for needle in [
        "Channel performance",
        "Period: 2024-03-01 to 2024-03-03 (Europe/Paris)",
        "Filters: channel = email",
        "6,000",
        "+50.0% vs previous period",
        "Sessions by channel",
        "1,501.50",
        "95.50%",
        "Page 1 of 1",
    ] {
        assert!(text.contains(needle), "{needle:?} missing from:\n{text}");
    }
}

#[test]
fn a_total_report_has_one_row_from_the_summary() {
    let definition: Value = json!({"metrics": ["sessions"], "range": "yesterday"});
    let report = definition::validate(&definition, "t", Some("csv"), |_| {
        NaiveDate::from_ymd_opt(2024, 3, 15)
    })
    .unwrap();
    let data = ReportData {
        report,
        rows: vec![Row {
            label: "2024-03-14 – 2024-03-14".into(),
            date: None,
            figures: json!({"sessions": 7}).as_object().unwrap().clone(),
        }],
        summary: json!({}),
    };
    let text = String::from_utf8(render::render(&data).unwrap()).unwrap();
    assert_eq!(text, "period,sessions\n2024-03-14 – 2024-03-14,7\n");
}
