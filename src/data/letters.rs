//! Letters, the course's "alphabet data": A–Z rendered from every installed font face.
//!
//! `make data` copies the faces of four Debian font packages into `data/fonts/` (see
//! `data/README.md`). Each face draws each capital once, white ink on black like MNIST, centred
//! on a 64×64 canvas; then every glyph gets `copies` seeded random variations:
//! - scale ×0.75–1.05, rotation ±12°, shift ±8 % (one affine warp, bilinear);
//! - stroke weight: thinner (erosion), unchanged, or bolder (dilation), by a 3×3 min/max filter;
//!
//! and is averaged down to the requested size (28, 32 or 64). Labels are 0 = A … 25 = Z.
//!
//! Split (fixed, by face): faces in sorted file-name order whose index % 5 == 4 are `Test`, the
//! others `Train`, so the test letters come from fonts the training set never saw.
//! With the default 8 copies, train holds about 11,000 images.
//!
//! Rendering takes a few seconds, so the result is cached in `data/cache/` as safetensors,
//! keyed by the font files, the size, the copies and the seed: a second load reads the cache.

use std::path::{Path, PathBuf};

use ab_glyph::{Font, FontVec, PxScale, ScaleFont};
use anyhow::{Context, Result};
use rand::{Rng, SeedableRng, rngs::StdRng};
use tch::{Device, Kind, Tensor};

use super::{Dataset, Split, data_dir, missing_file};

/// Faces without Latin capitals (symbols and dingbats) are passed over.
const NOT_LETTERS: [&str; 2] = ["StandardSymbolsPS", "D050000L"];
const CANVAS: i64 = 64;

/// What to render.
#[derive(Debug, Clone)]
pub struct LetterOptions {
    /// Side of the images: 28 (default, MNIST-sized), 32 or 64.
    pub size: u32,
    /// Random variations of each face's glyph (default 8).
    pub copies: usize,
    /// Seed of the variations (default 0).
    pub seed: u64,
}

impl Default for LetterOptions {
    fn default() -> Self {
        LetterOptions {
            size: 28,
            copies: 8,
            seed: 0,
        }
    }
}

impl LetterOptions {
    pub fn size(mut self, size: u32) -> Self {
        self.size = size;
        self
    }
    pub fn copies(mut self, copies: usize) -> Self {
        self.copies = copies;
        self
    }
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }
}

/// Loads (or renders and caches) the letters split onto `device`.
pub fn load(split: Split, options: &LetterOptions, device: Device) -> Result<Dataset> {
    let dir = data_dir();
    load_from(
        &dir.join("fonts"),
        &dir.join("cache"),
        split,
        options,
        device,
    )
}

/// As [`load`], from a folder of `.ttf`/`.otf` faces, caching in `cache`.
pub fn load_from(
    fonts: &Path,
    cache: &Path,
    split: Split,
    options: &LetterOptions,
    device: Device,
) -> Result<Dataset> {
    anyhow::ensure!(
        matches!(options.size, 28 | 32 | 64),
        "letter size {} is not supported: use 28, 32 or 64",
        options.size
    );
    anyhow::ensure!(options.copies > 0, "copies must be at least 1, got 0");
    if !fonts.is_dir() {
        return Err(missing_file(fonts, "font folder"));
    }
    let mut faces: Vec<PathBuf> = std::fs::read_dir(fonts)
        .with_context(|| format!("listing {}", fonts.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.extension()
                .is_some_and(|e| e.eq_ignore_ascii_case("ttf") || e.eq_ignore_ascii_case("otf"))
        })
        .filter(|p| !NOT_LETTERS.iter().any(|n| p.to_string_lossy().contains(n)))
        .collect();
    faces.sort();
    anyhow::ensure!(
        !faces.is_empty(),
        "{} holds no .ttf or .otf font: run `make data`",
        fonts.display()
    );
    let faces: Vec<PathBuf> = split.pick(faces, 5);
    anyhow::ensure!(
        !faces.is_empty(),
        "the {split:?} split of {} has no font face: every fifth face is kept for testing, so at least 5 are needed",
        fonts.display()
    );
    let split_name = split.name();
    let key = cache_key(&faces, options)?;
    let cached = cache.join(format!(
        "letters-{split_name}-{}px-{}x-seed{}-{key:016x}.safetensors",
        options.size, options.copies, options.seed
    ));

    let (images, labels) = match read_cache(&cached) {
        Some(found) => found,
        None => {
            let (images, labels) = render(&faces, options)?;
            write_cache(&cached, &images, &labels)?;
            (images, labels)
        }
    };
    Ok(Dataset {
        name: format!("letters/{split_name}"),
        images: images.to_device(device),
        labels: Some(labels.to_device(device)),
        class_names: ('A'..='Z').map(|c| c.to_string()).collect(),
    })
}

/// FNV-1a over the face names and sizes: a stable key that changes when the fonts change.
fn cache_key(faces: &[PathBuf], options: &LetterOptions) -> Result<u64> {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    let mut eat = |bytes: &[u8]| {
        for b in bytes {
            hash = (hash ^ *b as u64).wrapping_mul(0x0100_0000_01b3);
        }
    };
    for face in faces {
        eat(face.file_name().unwrap_or_default().as_encoded_bytes());
        eat(&std::fs::metadata(face)
            .with_context(|| format!("reading {}", face.display()))?
            .len()
            .to_le_bytes());
    }
    eat(&[options.size as u8, 1]); // the "1" is the rendering recipe's version: bump it when render() changes
    Ok(hash)
}

fn read_cache(path: &Path) -> Option<(Tensor, Tensor)> {
    let tensors = Tensor::read_safetensors(path).ok()?;
    let find = |name: &str| {
        tensors
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, t)| t.shallow_clone())
    };
    Some((find("images")?, find("labels")?))
}

fn write_cache(path: &Path, images: &Tensor, labels: &Tensor) -> Result<()> {
    crate::files::replace_atomically(path, |temp| {
        Ok(Tensor::write_safetensors(
            &[("images", images), ("labels", labels)],
            temp,
        )?)
    })
}

/// Draws every capital of every face, then the augmented copies: `[N, 1, size, size]` in [-1, 1].
fn render(faces: &[PathBuf], options: &LetterOptions) -> Result<(Tensor, Tensor)> {
    let mut glyphs: Vec<f32> = Vec::new();
    let mut labels: Vec<i64> = Vec::new();
    for path in faces {
        let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
        let font = FontVec::try_from_vec(bytes)
            .map_err(|e| anyhow::anyhow!("{}: not a usable font: {e}", path.display()))?;
        if ('A'..='Z').any(|c| font.glyph_id(c).0 == 0) {
            continue; // this face has no Latin capitals
        }
        for (label, letter) in ('A'..='Z').enumerate() {
            glyphs.extend(draw(&font, letter));
            labels.push(label as i64);
        }
    }
    anyhow::ensure!(
        !labels.is_empty(),
        "none of the {} font faces has the letters A–Z",
        faces.len()
    );
    let n = labels.len() as i64;
    let base = Tensor::from_slice(&glyphs).view([n, 1, CANVAS, CANVAS]);

    // The variations: each row of `theta` is a 2×3 affine map (rotation·scale | shift), in the
    // normalised [-1, 1] coordinates that `affine_grid` uses.
    let copies = options.copies as i64;
    let mut rng = StdRng::seed_from_u64(options.seed);
    let mut theta = Vec::with_capacity((n * copies * 6) as usize);
    let mut stroke = Vec::with_capacity((n * copies) as usize);
    for _ in 0..n * copies {
        let scale: f32 = rng.random_range(0.75..1.05);
        let angle: f32 = rng.random_range(-12f32..12.0).to_radians();
        let (tx, ty): (f32, f32) = (rng.random_range(-0.08..0.08), rng.random_range(-0.08..0.08));
        // affine_grid maps output coordinates to input ones, so invert the scale.
        let (c, s) = (angle.cos() / scale, angle.sin() / scale);
        theta.extend_from_slice(&[c, -s, tx, s, c, ty]);
        stroke.push(rng.random_range(0..3i64)); // 0 thinner, 1 as drawn, 2 bolder
    }
    let repeated = base.repeat_interleave_self_int(copies, 0, None);
    let stroke = Tensor::from_slice(&stroke).view([-1, 1, 1, 1]);
    let bolder = repeated.max_pool2d([3, 3], [1, 1], [1, 1], [1, 1], false);
    let thinner = -(-&repeated).max_pool2d([3, 3], [1, 1], [1, 1], [1, 1], false);
    let weighted = thinner.where_self(&stroke.eq(0), &bolder.where_self(&stroke.eq(2), &repeated));
    let theta = Tensor::from_slice(&theta).view([n * copies, 2, 3]);
    let grid = Tensor::affine_grid_generator(&theta, [n * copies, 1, CANVAS, CANVAS], false);
    let warped = weighted.grid_sampler(&grid, 0, 0, false); // bilinear, zero (black) padding
    let size = options.size as i64;
    let small = if size == CANVAS {
        warped
    } else {
        warped.adaptive_avg_pool2d([size, size])
    };
    let images = (small.clamp(0.0, 1.0) * 2.0 - 1.0).to_kind(Kind::Float);
    let labels = Tensor::from_slice(&labels).repeat_interleave_self_int(copies, 0, None);
    Ok((images, labels))
}

/// One glyph's coverage (ink = 1) on a 64×64 canvas, its box centred, 44 pixels tall at most.
fn draw(font: &FontVec, letter: char) -> Vec<f32> {
    let mut canvas = vec![0f32; (CANVAS * CANVAS) as usize];
    let scaled = font.as_scaled(PxScale::from(48.0));
    let glyph = scaled.scaled_glyph(letter);
    let Some(outline) = font.outline_glyph(glyph) else {
        return canvas;
    };
    let bounds = outline.px_bounds();
    // Shrink glyphs that would not fit, then centre the box.
    let fit = (44.0 / bounds.height().max(bounds.width())).min(1.0);
    let glyph = font
        .as_scaled(PxScale::from(48.0 * fit))
        .scaled_glyph(letter);
    let Some(outline) = font.outline_glyph(glyph) else {
        return canvas;
    };
    let bounds = outline.px_bounds();
    let x0 = ((CANVAS as f32 - bounds.width()) / 2.0).round() as i64;
    let y0 = ((CANVAS as f32 - bounds.height()) / 2.0).round() as i64;
    outline.draw(|x, y, coverage| {
        let (x, y) = (x0 + x as i64, y0 + y as i64);
        if (0..CANVAS).contains(&x) && (0..CANVAS).contains(&y) {
            canvas[(y * CANVAS + x) as usize] = coverage.min(1.0);
        }
    });
    canvas
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The installed DejaVu face, or `None` when `make data` has not run (the test then skips).
    fn one_face() -> Option<PathBuf> {
        let path = data_dir().join("fonts/DejaVuSans.ttf");
        path.exists().then_some(path)
    }

    #[test]
    fn renders_caches_and_rerenders_identically() {
        let Some(face) = one_face() else {
            eprintln!("skipped: data/fonts/DejaVuSans.ttf is not installed (make data)");
            return;
        };
        let root = crate::data::test_dir("letters");
        let (fonts, cache) = (root.join("fonts"), root.join("cache"));
        std::fs::create_dir_all(&fonts).unwrap();
        std::fs::copy(&face, fonts.join("DejaVuSans.ttf")).unwrap();
        let options = LetterOptions::default().copies(2);
        let train = load_from(&fonts, &cache, Split::Train, &options, Device::Cpu).unwrap();
        assert_eq!(train.images.size(), [52, 1, 28, 28]);
        assert_eq!(train.class_names[25], "Z");
        // Ink is white on black, like MNIST: most pixels are background (-1), some are ink.
        let ink = train
            .images
            .gt(0.0)
            .to_kind(Kind::Float)
            .mean(Kind::Float)
            .double_value(&[]);
        assert!((0.03..0.5).contains(&ink), "share of ink pixels: {ink}");
        assert_eq!(
            std::fs::read_dir(&cache).unwrap().count(),
            1,
            "one cache file"
        );
        let again = load_from(&fonts, &cache, Split::Train, &options, Device::Cpu).unwrap();
        assert!(again.images.equal(&train.images));
        // The cache holds exactly what rendering gives.
        std::fs::remove_dir_all(&cache).unwrap();
        let rendered = load_from(&fonts, &cache, Split::Train, &options, Device::Cpu).unwrap();
        assert!(
            rendered.images.equal(&train.images),
            "same seed, same letters"
        );
        let other = load_from(
            &fonts,
            &cache,
            Split::Train,
            &options.clone().seed(1),
            Device::Cpu,
        )
        .unwrap();
        assert!(
            !other.images.equal(&train.images),
            "another seed, other variations"
        );
        // One face only: it lands in train (index 0), the test split is empty of faces.
        let err = load_from(&fonts, &cache, Split::Test, &options, Device::Cpu)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("Test split") && err.contains("no font face"),
            "{err}"
        );
        std::fs::remove_dir_all(&root).unwrap();
    }

    #[test]
    fn bad_arguments_are_named() {
        let dir = std::env::temp_dir();
        let err = load_from(
            &dir,
            &dir,
            Split::Train,
            &LetterOptions::default().size(30),
            Device::Cpu,
        )
        .unwrap_err();
        assert!(
            err.to_string().contains("size 30 is not supported"),
            "{err}"
        );
        let err = load_from(
            &dir.join("nope"),
            &dir,
            Split::Train,
            &LetterOptions::default(),
            Device::Cpu,
        )
        .unwrap_err();
        assert!(err.to_string().contains("make data"), "{err}");
    }
}
