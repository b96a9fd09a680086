//! The embedded font: DejaVu Sans 2.37 (`fonts/DejaVuSans.ttf`, Bitstream Vera licence with
//! public-domain DejaVu changes, `fonts/LICENSE-DejaVu.txt`). It covers Latin (Polish and every
//! other European language), Greek, Cyrillic, Armenian, Georgian, Hebrew and Arabic letters,
//! and common symbols; it has no CJK ideographs (those print as the font's empty box).
//!
//! Text is written with glyph ids (a CID font, `Identity-H`), one glyph per character: the
//! scripts it covers need no shaping beyond that. [`Glyphs`] records every glyph a document
//! uses, renumbered densely, so the file carries a subset of the font (`subsetter`) and a
//! ToUnicode map that lets text be extracted and searched.

use std::{collections::BTreeMap, sync::LazyLock};

use subsetter::GlyphRemapper;

static DATA: &[u8] = include_bytes!("../fonts/DejaVuSans.ttf");

/// The PostScript name of the subset (a six-letter tag, `+`, the font's name).
pub const SUBSET_NAME: &[u8] = b"GIMBAL+DejaVuSans";

pub struct Face {
    face: ttf_parser::Face<'static>,
    units: f32,
}

static FACE: LazyLock<Face> = LazyLock::new(|| {
    let face = ttf_parser::Face::parse(DATA, 0).expect("the embedded font parses");
    Face {
        units: f32::from(face.units_per_em()),
        face,
    }
});

pub fn face() -> &'static Face {
    &FACE
}

impl Face {
    /// The font's glyph for `c` (0, the empty box, when it has none).
    pub fn glyph(&self, c: char) -> u16 {
        self.face.glyph_index(c).map_or(0, |g| g.0)
    }

    /// Advance of a glyph in thousandths of an em.
    pub fn advance(&self, glyph: u16) -> f32 {
        self.face
            .glyph_hor_advance(ttf_parser::GlyphId(glyph))
            .map_or(0.0, |a| f32::from(a) * 1000.0 / self.units)
    }

    /// A value in font units, in thousandths of an em.
    fn scale(&self, v: i16) -> f32 {
        f32::from(v) * 1000.0 / self.units
    }

    pub fn ascent(&self) -> f32 {
        self.scale(self.face.ascender())
    }

    pub fn descent(&self) -> f32 {
        self.scale(self.face.descender())
    }

    pub fn cap_height(&self) -> f32 {
        self.face
            .capital_height()
            .map_or(self.ascent(), |h| self.scale(h))
    }

    /// (x min, y min, x max, y max) in thousandths of an em.
    pub fn bbox(&self) -> (f32, f32, f32, f32) {
        let b = self.face.global_bounding_box();
        (
            self.scale(b.x_min),
            self.scale(b.y_min),
            self.scale(b.x_max),
            self.scale(b.y_max),
        )
    }
}

/// The glyphs one document uses, renumbered from 0 in order of first use, and the text each
/// stands for.
#[derive(Default)]
pub struct Glyphs {
    remapper: GlyphRemapper,
    text: BTreeMap<u16, char>,
}

impl Glyphs {
    /// `s` as the two-byte glyph ids of the subset.
    pub fn encode(&mut self, s: &str) -> Vec<u8> {
        let face = face();
        let mut out = Vec::with_capacity(s.len() * 2);
        for c in s.chars() {
            let original = face.glyph(c);
            let id = self.remapper.remap(original);
            if original != 0 {
                self.text.entry(id).or_insert(c);
            }
            out.extend_from_slice(&id.to_be_bytes());
        }
        out
    }

    /// Advances of the subset's glyphs, in order of their new ids.
    pub fn widths(&self) -> Vec<f32> {
        let face = face();
        self.remapper
            .remapped_gids()
            .map(|g| face.advance(g))
            .collect()
    }

    /// The font file with only the used glyphs.
    pub fn subset(&self) -> Vec<u8> {
        subsetter::subset(DATA, 0, &self.remapper).expect("the embedded font subsets")
    }

    /// (new glyph id, character) pairs for the ToUnicode map.
    pub fn unicode(&self) -> impl Iterator<Item = (u16, char)> + '_ {
        self.text.iter().map(|(g, c)| (*g, *c))
    }
}
