//! The metrics a report can show: their labels, how they are formatted, and how the rates are
//! derived from counts (a rate of nothing is empty, never a division by zero).

use serde_json::{Map, Value};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Count,
    Money,
    /// A fraction, shown as a percentage.
    Rate,
    Decimal,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Metric {
    pub name: &'static str,
    pub label: &'static str,
    pub kind: Kind,
    /// `(numerator, denominator)` for derived metrics.
    ratio: Option<(&'static str, &'static str)>,
}

const fn m(name: &'static str, label: &'static str, kind: Kind) -> Metric {
    Metric {
        name,
        label,
        kind,
        ratio: None,
    }
}

const fn r(
    name: &'static str,
    label: &'static str,
    kind: Kind,
    num: &'static str,
    den: &'static str,
) -> Metric {
    Metric {
        name,
        label,
        kind,
        ratio: Some((num, den)),
    }
}

pub const ALL: &[Metric] = &[
    m("messages_sent", "Messages sent", Kind::Count),
    m("messages_delivered", "Delivered", Kind::Count),
    m("messages_opened", "Opened", Kind::Count),
    m("messages_clicked", "Clicked", Kind::Count),
    m("messages_bounced", "Bounced", Kind::Count),
    m("unsubscribes", "Unsubscribes", Kind::Count),
    r(
        "delivery_rate",
        "Delivery rate",
        Kind::Rate,
        "messages_delivered",
        "messages_sent",
    ),
    r(
        "open_rate",
        "Open rate",
        Kind::Rate,
        "messages_opened",
        "messages_delivered",
    ),
    r(
        "click_rate",
        "Click rate",
        Kind::Rate,
        "messages_clicked",
        "messages_delivered",
    ),
    r(
        "unsubscribe_rate",
        "Unsubscribe rate",
        Kind::Rate,
        "unsubscribes",
        "messages_delivered",
    ),
    r(
        "bounce_rate",
        "Bounce rate",
        Kind::Rate,
        "messages_bounced",
        "messages_sent",
    ),
    m("sessions", "Sessions", Kind::Count),
    m("users", "Users", Kind::Count),
    m("conversions", "Conversions", Kind::Decimal),
    r(
        "conversion_rate",
        "Conversion rate",
        Kind::Rate,
        "conversions",
        "sessions",
    ),
    m("revenue", "Revenue", Kind::Money),
    m("impressions", "Impressions", Kind::Count),
    m("clicks", "Clicks", Kind::Count),
    m("spend", "Spend", Kind::Money),
    r("ctr", "CTR", Kind::Rate, "clicks", "impressions"),
    r("cpc", "CPC", Kind::Money, "spend", "clicks"),
    r("roas", "ROAS", Kind::Decimal, "revenue", "spend"),
];

impl Metric {
    pub fn parse(name: &str) -> Option<Metric> {
        ALL.iter().find(|m| m.name == name).copied()
    }

    pub fn names() -> Vec<&'static str> {
        ALL.iter().map(|m| m.name).collect()
    }

    /// The value in a row of figures (a dashboard function's row as JSON); derived metrics
    /// are computed from their counts, so they are right for every row shape.
    pub fn value(&self, row: &Map<String, Value>) -> Option<f64> {
        match self.ratio {
            Some((num, den)) => {
                let den = number(row.get(den))?;
                (den != 0.0).then(|| number(row.get(num)).unwrap_or(0.0) / den)
            }
            None => number(row.get(self.name)),
        }
    }

    /// As people read it: thousands separated, money with cents, rates as percentages.
    pub fn display(&self, value: Option<f64>) -> String {
        let Some(v) = value else {
            return "–".into();
        };
        match self.kind {
            Kind::Count => group(v.round(), 0),
            Kind::Money => group(v, 2),
            Kind::Decimal => group(v, 2),
            Kind::Rate => format!("{:.2}%", v * 100.0),
        }
    }
}

fn number(v: Option<&Value>) -> Option<f64> {
    match v? {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.parse().ok(),
        _ => None,
    }
}

/// `1234567.891` with 2 decimals -> `1,234,567.89`.
pub fn group(v: f64, decimals: usize) -> String {
    let text = format!("{:.*}", decimals, v.abs());
    let (int, frac) = text
        .split_once('.')
        .map_or((text.as_str(), None), |(i, f)| (i, Some(f)));
    let mut out = String::new();
    for (i, c) in int.chars().enumerate() {
        if i > 0 && (int.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    if let Some(f) = frac {
        out.push('.');
        out.push_str(f);
    }
    if v < 0.0 && v.abs() >= 0.5 * 10f64.powi(-(decimals as i32)) {
        out.insert(0, '-');
    }
    out
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn rates_are_derived_and_empty_over_nothing() {
        let row = json!({"messages_sent": 200, "messages_delivered": 150, "revenue": "120.50", "spend": 0});
        let row = row.as_object().unwrap();
        let rate = Metric::parse("delivery_rate").unwrap();
        assert_eq!(rate.value(row), Some(0.75));
        assert_eq!(rate.display(rate.value(row)), "75.00%");
        let roas = Metric::parse("roas").unwrap();
        assert_eq!(roas.value(row), None);
        assert_eq!(roas.display(None), "–");
        assert_eq!(Metric::parse("revenue").unwrap().value(row), Some(120.5));
    }

    #[test]
    fn numbers_are_grouped() {
        assert_eq!(group(1234567.891, 2), "1,234,567.89");
        assert_eq!(group(999.0, 0), "999");
        assert_eq!(group(-1000.0, 0), "-1,000");
        assert_eq!(group(0.0, 2), "0.00");
    }
}
