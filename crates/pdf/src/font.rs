//! The embedded fonts.
//!
//! - DejaVu Sans 2.37 (`fonts/DejaVuSans.ttf`, Bitstream Vera licence with public-domain DejaVu
//!   changes, `fonts/LICENSE-DejaVu.txt`): Latin (Polish and every other European language),
//!   Greek, Cyrillic, Armenian, Georgian, Hebrew and Arabic letters, and common symbols.
//! - Droid Sans Fallback (`fonts/DroidSansFallback.ttf`, Apache 2.0,
//!   `fonts/LICENSE-DroidSansFallback.txt`): Chinese, Japanese (kana and kanji) and Korean
//!   (Hangul), for the characters DejaVu Sans lacks.
//!
//! Each character is drawn with the first font that has it ([`glyph_for`]); one neither has
//! prints as DejaVu's empty box. Text is written as CIDs (CID fonts, `Identity-H`), one glyph
//! per character: the scripts covered need no shaping beyond that. [`Glyphs`] records every
//! glyph a document uses, per font, so the file carries a subset of each font it uses
//! (`subsetter`) and a ToUnicode map that lets text be extracted and searched.

use std::{collections::HashMap, sync::LazyLock};

use subsetter::GlyphRemapper;

/// One of the embedded fonts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Font {
    Primary,
    Fallback,
}

impl Font {
    pub const ALL: [Font; 2] = [Font::Primary, Font::Fallback];

    /// 0 for the primary font, 1 for the fallback.
    pub fn index(self) -> usize {
        match self {
            Font::Primary => 0,
            Font::Fallback => 1,
        }
    }

    /// The name pages refer to the font by.
    pub fn resource(self) -> &'static [u8] {
        match self {
            Font::Primary => b"F1",
            Font::Fallback => b"F2",
        }
    }

    /// The PostScript name of the subset (a six-letter tag, `+`, the font's name).
    pub fn subset_name(self) -> &'static [u8] {
        match self {
            Font::Primary => b"GIMBAL+DejaVuSans",
            Font::Fallback => b"GIMBAM+DroidSansFallback",
        }
    }

    fn data(self) -> &'static [u8] {
        match self {
            Font::Primary => PRIMARY,
            Font::Fallback => FALLBACK,
        }
    }

    pub fn face(self) -> &'static Face {
        match self {
            Font::Primary => &PRIMARY_FACE,
            Font::Fallback => &FALLBACK_FACE,
        }
    }
}

static PRIMARY: &[u8] = include_bytes!("../fonts/DejaVuSans.ttf");
static FALLBACK: &[u8] = include_bytes!("../fonts/DroidSansFallback.ttf");

pub struct Face {
    face: ttf_parser::Face<'static>,
    units: f32,
}

fn parse(data: &'static [u8]) -> Face {
    let face = ttf_parser::Face::parse(data, 0).expect("an embedded font parses");
    Face {
        units: f32::from(face.units_per_em()),
        face,
    }
}

static PRIMARY_FACE: LazyLock<Face> = LazyLock::new(|| parse(PRIMARY));
static FALLBACK_FACE: LazyLock<Face> = LazyLock::new(|| parse(FALLBACK));

/// The font and glyph that draw `c`: the primary font's when it has one, else the fallback's,
/// else the primary font's empty box (glyph 0).
pub fn glyph_for(c: char) -> (Font, u16) {
    for font in Font::ALL {
        if let Some(glyph) = font.face().glyph(c) {
            return (font, glyph);
        }
    }
    (Font::Primary, 0)
}

impl Face {
    /// The font's glyph for `c`, if it has one.
    fn glyph(&self, c: char) -> Option<u16> {
        self.face.glyph_index(c).map(|g| g.0).filter(|g| *g != 0)
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

/// The glyphs of one font a document uses. The subset renumbers them from 0 in order of first
/// use; text is written in CIDs, one per distinct (glyph, character) pair, and the CIDToGIDMap
/// points each CID at its glyph in the subset. So two characters the font draws with one glyph
/// (Hangul jamo and their compatibility forms, CJK compatibility ideographs and the unified
/// ones) keep a ToUnicode entry each and extract as written. CID 0 is the empty box.
struct Subset {
    remapper: GlyphRemapper,
    /// Per CID: the glyph in the whole font, and the character it stands for.
    cids: Vec<(u16, Option<char>)>,
    by_key: HashMap<(u16, Option<char>), u16>,
    used: bool,
}

impl Default for Subset {
    fn default() -> Self {
        Subset {
            remapper: GlyphRemapper::default(),
            cids: vec![(0, None)],
            by_key: HashMap::from([((0, None), 0)]),
            used: false,
        }
    }
}

impl Subset {
    fn cid(&mut self, glyph: u16, c: char) -> u16 {
        let key = (glyph, (glyph != 0).then_some(c));
        if let Some(cid) = self.by_key.get(&key) {
            return *cid;
        }
        self.remapper.remap(glyph);
        let cid = u16::try_from(self.cids.len()).expect("fewer than 65,536 distinct characters");
        self.cids.push(key);
        self.by_key.insert(key, cid);
        cid
    }
}

/// The glyphs a document uses, per font.
#[derive(Default)]
pub struct Glyphs {
    subsets: [Subset; 2],
}

impl Glyphs {
    /// `s` as runs of two-byte CIDs, each run in the font that draws its characters.
    pub fn encode(&mut self, s: &str) -> Vec<(Font, Vec<u8>)> {
        let mut runs: Vec<(Font, Vec<u8>)> = Vec::new();
        for c in s.chars() {
            let (font, glyph) = glyph_for(c);
            let subset = &mut self.subsets[font.index()];
            subset.used = true;
            let cid = subset.cid(glyph, c);
            match runs.last_mut() {
                Some((last, bytes)) if *last == font => bytes.extend_from_slice(&cid.to_be_bytes()),
                _ => runs.push((font, cid.to_be_bytes().to_vec())),
            }
        }
        runs
    }

    /// Whether any text is drawn with `font`.
    pub fn uses(&self, font: Font) -> bool {
        self.subsets[font.index()].used
    }

    /// Advances per CID, from CID 0.
    pub fn widths(&self, font: Font) -> Vec<f32> {
        let face = font.face();
        self.subsets[font.index()]
            .cids
            .iter()
            .map(|(glyph, _)| face.advance(*glyph))
            .collect()
    }

    /// The CIDToGIDMap: per CID, from CID 0, its glyph's id in the subset (two bytes).
    pub fn cid_to_gid(&self, font: Font) -> Vec<u8> {
        let subset = &self.subsets[font.index()];
        subset
            .cids
            .iter()
            .flat_map(|(glyph, _)| {
                subset
                    .remapper
                    .get(*glyph)
                    .expect("every CID's glyph is in the subset")
                    .to_be_bytes()
            })
            .collect()
    }

    /// The font file with only the used glyphs.
    pub fn subset(&self, font: Font) -> Vec<u8> {
        subsetter::subset(font.data(), 0, &self.subsets[font.index()].remapper)
            .expect("an embedded font subsets")
    }

    /// (CID, character) pairs for the ToUnicode map.
    pub fn unicode(&self, font: Font) -> impl Iterator<Item = (u16, char)> + '_ {
        self.subsets[font.index()]
            .cids
            .iter()
            .enumerate()
            .filter_map(|(cid, (_, c))| Some((u16::try_from(cid).ok()?, (*c)?)))
    }
}
