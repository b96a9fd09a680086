//! Laying a [`Document`] out on A4 pages, top to bottom, and writing the PDF objects.

use pdf_writer::{
    Content, Name, Pdf, Rect, Ref, Str, TextStr,
    types::{CidFontType, FontFlags, SystemInfo, TextRenderingMode, UnicodeCmap},
};

use crate::{
    BarChart, Document, Kpi, Table,
    font::{Font, Glyphs},
    text,
};

const WIDTH: f32 = 595.0;
const HEIGHT: f32 = 842.0;
const MARGIN: f32 = 40.0;
/// Content stops above the footer.
const BOTTOM: f32 = 60.0;
const ROW_HEIGHT: f32 = 15.0;
/// More bars than this would be unreadable; the chart shows the first ones and says so.
const MAX_BARS: usize = 60;

/// Page contents being written, and where the next element goes.
struct Pages {
    done: Vec<Content>,
    current: Content,
    y: f32,
    glyphs: Glyphs,
}

impl Pages {
    fn new() -> Self {
        Pages {
            done: Vec::new(),
            current: Content::new(),
            y: HEIGHT - MARGIN,
            glyphs: Glyphs::default(),
        }
    }

    /// Starts a new page unless `height` points still fit on this one.
    fn ensure(&mut self, height: f32) -> bool {
        if self.y - height < BOTTOM {
            let full = std::mem::replace(&mut self.current, Content::new());
            self.done.push(full);
            self.y = HEIGHT - MARGIN;
            return true;
        }
        false
    }

    fn text(&mut self, x: f32, y: f32, size: f32, bold: bool, s: &str) {
        let encoded = self.glyphs.encode(s);
        if bold {
            // bold: the outline stroked as well as filled, in the fill's colour (black).
            self.current
                .save_state()
                .set_line_width(size * 0.035)
                .set_text_rendering_mode(TextRenderingMode::FillStroke);
        }
        show(&mut self.current, x, y, size, &encoded);
        if bold {
            self.current.restore_state();
        }
    }

    /// Right-aligned at `right`.
    fn text_right(&mut self, right: f32, y: f32, size: f32, bold: bool, s: &str) {
        let x = right - text::width(s, size, bold);
        self.text(x, y, size, bold, s);
    }

    fn fill(&mut self, rgb: (f32, f32, f32), x: f32, y: f32, w: f32, h: f32) {
        self.current
            .save_state()
            .set_fill_rgb(rgb.0, rgb.1, rgb.2)
            .rect(x, y, w, h)
            .fill_nonzero()
            .restore_state();
    }

    fn stroke_rect(&mut self, gray: f32, x: f32, y: f32, w: f32, h: f32) {
        self.current
            .save_state()
            .set_stroke_gray(gray)
            .set_line_width(0.7)
            .rect(x, y, w, h)
            .stroke()
            .restore_state();
    }

    fn finish(mut self) -> (Vec<Content>, Glyphs) {
        self.done.push(self.current);
        (self.done, self.glyphs)
    }
}

/// Glyph runs at (`x`, `y`): each run in its font, one after the other on the line.
fn show(content: &mut Content, x: f32, y: f32, size: f32, runs: &[(Font, Vec<u8>)]) {
    content.begin_text().next_line(x, y);
    for (font, glyphs) in runs {
        content
            .set_font(Name(font.resource()), size)
            .show(Str(glyphs));
    }
    content.end_text();
}

/// The PDF bytes of `doc`.
pub fn render(doc: &Document) -> Vec<u8> {
    let mut pages = Pages::new();
    heading(&mut pages, doc);
    kpis(&mut pages, &doc.kpis);
    if let Some(chart) = &doc.chart {
        bar_chart(&mut pages, chart);
    }
    for table in &doc.tables {
        self::table(&mut pages, table);
    }
    let (contents, glyphs) = pages.finish();
    write(doc, contents, glyphs)
}

fn heading(pages: &mut Pages, doc: &Document) {
    let title = text::fit(&doc.title, 20.0, true, WIDTH - 2.0 * MARGIN);
    pages.text(MARGIN, pages.y - 20.0, 20.0, true, &title);
    pages.y -= 32.0;
    for line in &doc.subtitle {
        let line = text::fit(line, 10.0, false, WIDTH - 2.0 * MARGIN);
        pages.text(MARGIN, pages.y - 10.0, 10.0, false, &line);
        pages.y -= 14.0;
    }
    pages.y -= 10.0;
}

fn kpis(pages: &mut Pages, kpis: &[Kpi]) {
    // three cards a row: "+50.0% vs previous period" fits a card in DejaVu Sans at 8 pt.
    const PER_ROW: usize = 3;
    const GAP: f32 = 10.0;
    const CARD_HEIGHT: f32 = 58.0;
    let card_width = (WIDTH - 2.0 * MARGIN - GAP * (PER_ROW as f32 - 1.0)) / PER_ROW as f32;
    for row in kpis.chunks(PER_ROW) {
        pages.ensure(CARD_HEIGHT + GAP);
        let top = pages.y;
        for (i, kpi) in row.iter().enumerate() {
            let x = MARGIN + i as f32 * (card_width + GAP);
            let y = top - CARD_HEIGHT;
            pages.fill((0.96, 0.97, 0.99), x, y, card_width, CARD_HEIGHT);
            pages.stroke_rect(0.8, x, y, card_width, CARD_HEIGHT);
            let inner = card_width - 16.0;
            pages.text(
                x + 8.0,
                top - 15.0,
                8.0,
                false,
                &text::fit(&kpi.label, 8.0, false, inner),
            );
            pages.text(
                x + 8.0,
                top - 34.0,
                15.0,
                true,
                &text::fit(&kpi.value, 15.0, true, inner),
            );
            if let Some(change) = &kpi.change {
                let colour = match kpi.positive {
                    Some(true) => (0.1, 0.5, 0.2),
                    Some(false) => (0.7, 0.15, 0.15),
                    None => (0.4, 0.4, 0.4),
                };
                pages
                    .current
                    .save_state()
                    .set_fill_rgb(colour.0, colour.1, colour.2);
                pages.text(
                    x + 8.0,
                    top - 49.0,
                    8.0,
                    false,
                    &text::fit(change, 8.0, false, inner),
                );
                pages.current.restore_state();
            }
        }
        pages.y = top - CARD_HEIGHT - GAP;
    }
    pages.y -= 6.0;
}

fn bar_chart(pages: &mut Pages, chart: &BarChart) {
    const PLOT_HEIGHT: f32 = 150.0;
    pages.ensure(PLOT_HEIGHT + 60.0);
    let shown = &chart.bars[..chart.bars.len().min(MAX_BARS)];
    let mut title = chart.title.clone();
    if chart.bars.len() > shown.len() {
        title.push_str(&format!(" (first {} of {})", shown.len(), chart.bars.len()));
    }
    pages.text(MARGIN, pages.y - 12.0, 12.0, true, &title);
    let base = pages.y - 20.0 - PLOT_HEIGHT;
    let left = MARGIN + 40.0;
    let plot_width = WIDTH - MARGIN - left;
    let max = shown.iter().map(|(_, v)| *v).fold(0.0_f64, f64::max);
    // axes
    pages
        .current
        .save_state()
        .set_stroke_gray(0.3)
        .set_line_width(0.8)
        .move_to(left, base + PLOT_HEIGHT)
        .line_to(left, base)
        .line_to(left + plot_width, base)
        .stroke()
        .restore_state();
    pages.text_right(
        left - 4.0,
        base + PLOT_HEIGHT - 8.0,
        7.0,
        false,
        &compact(max),
    );
    pages.text_right(left - 4.0, base, 7.0, false, "0");
    if !shown.is_empty() {
        let slot = plot_width / shown.len() as f32;
        let label_every = (shown.len() / 12).max(1);
        for (i, (label, value)) in shown.iter().enumerate() {
            let h = if max > 0.0 {
                (value.max(0.0) / max) as f32 * PLOT_HEIGHT
            } else {
                0.0
            };
            let x = left + i as f32 * slot + slot * 0.15;
            pages.fill((0.25, 0.45, 0.75), x, base, slot * 0.7, h);
            if i % label_every == 0 {
                let label = text::fit(label, 6.0, false, slot * label_every as f32 - 2.0);
                pages.text(x, base - 9.0, 6.0, false, &label);
            }
        }
    }
    pages.y = base - 24.0;
}

/// 1234567 -> "1.2M", for the chart's axis.
fn compact(v: f64) -> String {
    match v.abs() {
        a if a >= 1e9 => format!("{:.1}B", v / 1e9),
        a if a >= 1e6 => format!("{:.1}M", v / 1e6),
        a if a >= 1e4 => format!("{:.1}k", v / 1e3),
        a if a >= 100.0 => format!("{v:.0}"),
        _ => format!("{v:.2}"),
    }
}

fn table(pages: &mut Pages, table: &Table) {
    let columns = table.headers.len().max(1);
    let usable = WIDTH - 2.0 * MARGIN;
    // the first column (a label or a date) gets a double share.
    let unit = usable / (columns as f32 + 1.0);
    let widths: Vec<f32> = (0..columns)
        .map(|i| if i == 0 { unit * 2.0 } else { unit })
        .collect();
    pages.ensure(ROW_HEIGHT * 3.0 + 20.0);
    pages.text(MARGIN, pages.y - 12.0, 12.0, true, &table.title);
    pages.y -= 20.0;
    header_row(pages, table, &widths);
    for (n, row) in table.rows.iter().enumerate() {
        if pages.ensure(ROW_HEIGHT) {
            header_row(pages, table, &widths);
        }
        if n % 2 == 1 {
            pages.fill(
                (0.97, 0.97, 0.97),
                MARGIN,
                pages.y - ROW_HEIGHT,
                usable,
                ROW_HEIGHT,
            );
        }
        cells(pages, table, row, &widths, false);
    }
    pages.y -= 16.0;
}

fn header_row(pages: &mut Pages, table: &Table, widths: &[f32]) {
    let usable = WIDTH - 2.0 * MARGIN;
    pages.fill(
        (0.88, 0.9, 0.94),
        MARGIN,
        pages.y - ROW_HEIGHT,
        usable,
        ROW_HEIGHT,
    );
    cells(pages, table, &table.headers, widths, true);
}

fn cells(pages: &mut Pages, table: &Table, row: &[String], widths: &[f32], bold: bool) {
    let baseline = pages.y - ROW_HEIGHT + 4.5;
    let mut x = MARGIN;
    for (i, width) in widths.iter().enumerate() {
        let value = row.get(i).map(String::as_str).unwrap_or("");
        let value = text::fit(value, 8.0, bold, width - 8.0);
        if table.numeric.get(i).copied().unwrap_or(false) {
            pages.text_right(x + width - 4.0, baseline, 8.0, bold, &value);
        } else {
            pages.text(x + 4.0, baseline, 8.0, bold, &value);
        }
        x += width;
    }
    pages.y -= ROW_HEIGHT;
}

/// The PDF objects: catalog, page tree, document info, a page plus content stream per page
/// (each footed with the title and "Page i of n"), and per font used: a Type 0 font over a CID
/// font with the subset embedded, its widths, and a ToUnicode map.
fn write(doc: &Document, contents: Vec<Content>, mut glyphs: Glyphs) -> Vec<u8> {
    let catalog = Ref::new(1);
    let tree = Ref::new(2);
    let info = Ref::new(3);
    // six objects per font from 10: Type 0 font, CID font, descriptor, file, ToUnicode map,
    // CIDToGIDMap; pages (and their contents) after the last font's
    let font_ref = |font: Font, k: i32| Ref::new(10 + 6 * font.index() as i32 + k);
    let first_page = 10 + 6 * Font::ALL.len() as i32;
    let total = contents.len();
    let page_ids: Vec<Ref> = (0..total)
        .map(|i| Ref::new(first_page + 2 * i as i32))
        .collect();
    let mut pdf = Pdf::new();
    pdf.catalog(catalog).pages(tree);
    pdf.pages(tree)
        .kids(page_ids.iter().copied())
        .count(total as i32);
    pdf.document_info(info)
        .title(TextStr(&doc.title))
        .creator(TextStr("Gimbal"));
    // the footers first: every glyph, and so every font, is known before the pages name them
    let contents: Vec<Content> = contents
        .into_iter()
        .enumerate()
        .map(|(i, mut content)| {
            let footer = format!("Page {} of {total}", i + 1);
            let title = text::fit(&doc.title, 8.0, false, WIDTH / 2.0);
            for (x, s) in [
                (MARGIN, title.as_str()),
                (
                    WIDTH - MARGIN - text::width(&footer, 8.0, false),
                    footer.as_str(),
                ),
            ] {
                show(&mut content, x, 30.0, 8.0, &glyphs.encode(s));
            }
            content
        })
        .collect();
    let fonts: Vec<Font> = Font::ALL.into_iter().filter(|f| glyphs.uses(*f)).collect();
    for (i, content) in contents.into_iter().enumerate() {
        let content_id = Ref::new(first_page + 1 + 2 * i as i32);
        let mut page = pdf.page(page_ids[i]);
        page.media_box(Rect::new(0.0, 0.0, WIDTH, HEIGHT))
            .parent(tree)
            .contents(content_id);
        let mut resources = page.resources();
        let mut names = resources.fonts();
        for font in &fonts {
            names.pair(Name(font.resource()), font_ref(*font, 0));
        }
        drop(names);
        drop(resources);
        drop(page);
        pdf.stream(content_id, &content.finish());
    }

    let system_info = SystemInfo {
        registry: Str(b"Adobe"),
        ordering: Str(b"Identity"),
        supplement: 0,
    };
    for font in fonts {
        let [
            type0,
            cid_font,
            descriptor,
            font_file,
            to_unicode,
            cid_to_gid,
        ] = [0, 1, 2, 3, 4, 5].map(|k| font_ref(font, k));
        pdf.type0_font(type0)
            .base_font(Name(font.subset_name()))
            .encoding_predefined(Name(b"Identity-H"))
            .descendant_font(cid_font)
            .to_unicode(to_unicode);
        let mut cid = pdf.cid_font(cid_font);
        cid.subtype(CidFontType::Type2)
            .base_font(Name(font.subset_name()))
            .system_info(system_info)
            .font_descriptor(descriptor)
            .cid_to_gid_map_stream(cid_to_gid);
        cid.widths().consecutive(0, glyphs.widths(font));
        drop(cid);
        pdf.stream(cid_to_gid, &glyphs.cid_to_gid(font));
        let face = font.face();
        let (x0, y0, x1, y1) = face.bbox();
        pdf.font_descriptor(descriptor)
            .name(Name(font.subset_name()))
            .flags(FontFlags::NON_SYMBOLIC)
            .bbox(Rect::new(x0, y0, x1, y1))
            .italic_angle(0.0)
            .ascent(face.ascent())
            .descent(face.descent())
            .cap_height(face.cap_height())
            .stem_v(80.0)
            .font_file2(font_file);
        pdf.stream(font_file, &glyphs.subset(font));
        let mut cmap = UnicodeCmap::new(Name(b"Gimbal-UTF16"), system_info);
        for (glyph, c) in glyphs.unicode(font) {
            cmap.pair(glyph, c);
        }
        pdf.cmap(to_unicode, &cmap.finish());
    }
    pdf.finish()
}
