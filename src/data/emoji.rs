//! Emoji: about 7,500 colour pictures, 64×64, with a category each; the course's stand-in for
//! CelebA (64×64 colour faces) that installs in seconds and needs no account.
//!
//! Source: the npm packages `emoji-datasource-google@16.0.0` (Noto Emoji) and
//! `emoji-datasource-twitter@16.0.0` (Twemoji); `make data` copies `img/<vendor>/64/*.png` to
//! `data/emoji/<vendor>/` and the catalogue `emoji.json` to `data/emoji/`. Skin-tone variants are
//! included, with their base emoji's category. The PNGs are RGBA; transparency is flattened onto
//! white. Labels index [`CATEGORIES`], whatever filter is applied, so a label means the same thing
//! in every subset.
//!
//! Split (fixed): in catalogue order, every tenth picture (index % 10 == 9) is `Test`.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde::Deserialize;
use tch::{Device, Tensor};

use super::image_folder::{bytes_to_images, square};
use super::{Dataset, Split, data_dir, missing_file, read_parallel};

/// The categories of `emoji.json`, in its own order; a label is an index into this list.
pub const CATEGORIES: [&str; 10] = [
    "Smileys & Emotion",
    "People & Body",
    "Component",
    "Animals & Nature",
    "Food & Drink",
    "Travel & Places",
    "Activities",
    "Objects",
    "Symbols",
    "Flags",
];

/// The categories that hold faces and people: the CelebA stand-in.
pub const FACES: [&str; 2] = ["Smileys & Emotion", "People & Body"];

/// Whose artwork.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Vendor {
    Google,
    Twitter,
}

impl Vendor {
    fn folder(self) -> &'static str {
        match self {
            Vendor::Google => "google",
            Vendor::Twitter => "twitter",
        }
    }
}

/// What to load.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmojiOptions {
    /// Artwork sets (default: both).
    pub vendors: Vec<Vendor>,
    /// Keep only these categories (names from [`CATEGORIES`]); empty keeps all (default).
    pub categories: Vec<String>,
    /// Side of the images (default 64, their native size).
    pub size: u32,
}

impl Default for EmojiOptions {
    fn default() -> Self {
        EmojiOptions {
            vendors: vec![Vendor::Google, Vendor::Twitter],
            categories: vec![],
            size: 64,
        }
    }
}

impl EmojiOptions {
    /// Faces and people only (see [`FACES`]).
    pub fn faces() -> Self {
        EmojiOptions {
            categories: FACES.iter().map(|c| c.to_string()).collect(),
            ..Default::default()
        }
    }
    pub fn size(mut self, size: u32) -> Self {
        self.size = size;
        self
    }
    pub fn vendors(mut self, vendors: &[Vendor]) -> Self {
        self.vendors = vendors.to_vec();
        self
    }
}

#[derive(Deserialize)]
struct Entry {
    image: String,
    category: String,
    #[serde(default)]
    has_img_google: bool,
    #[serde(default)]
    has_img_twitter: bool,
    #[serde(default)]
    skin_variations: std::collections::BTreeMap<String, Variation>,
}

#[derive(Deserialize)]
struct Variation {
    image: String,
    #[serde(default)]
    has_img_google: bool,
    #[serde(default)]
    has_img_twitter: bool,
}

/// Loads the emoji split from `data/emoji/` onto `device`.
pub fn load(split: Split, options: &EmojiOptions, device: Device) -> Result<Dataset> {
    load_from(&data_dir().join("emoji"), split, options, device)
}

/// Loads the emoji split from a folder holding `emoji.json` and `<vendor>/*.png`.
pub fn load_from(
    folder: &Path,
    split: Split,
    options: &EmojiOptions,
    device: Device,
) -> Result<Dataset> {
    check_options(options)?;
    // (path, label) of every picture wanted, in catalogue order.
    let mut wanted: Vec<(PathBuf, i64)> = Vec::new();
    for (label, images) in catalogue(folder, options)? {
        for &vendor in &options.vendors {
            let dir = folder.join(vendor.folder());
            for (image, has_google, has_twitter) in &images {
                let has = match vendor {
                    Vendor::Google => has_google,
                    Vendor::Twitter => has_twitter,
                };
                if *has {
                    wanted.push((dir.join(image), label));
                }
            }
        }
    }
    let chosen = split.pick(wanted, 10);
    anyhow::ensure!(
        !chosen.is_empty(),
        "no emoji matches the chosen vendors and categories"
    );
    if let Some((missing, _)) = chosen.iter().find(|(p, _)| !p.exists()) {
        return Err(missing_file(missing, "emoji picture"));
    }
    let paths: Vec<PathBuf> = chosen.iter().map(|(p, _)| p.clone()).collect();
    let pixels = pictures(&paths, options.size)?;
    let labels: Vec<i64> = chosen.iter().map(|(_, l)| *l).collect();
    let subset = if options.categories.is_empty() {
        "all".to_string()
    } else {
        options.categories.join("+")
    };
    Ok(Dataset {
        name: format!("emoji/{subset}/{}", split.name()),
        images: bytes_to_images(&pixels, labels.len(), 3, options.size).to_device(device),
        labels: Some(Tensor::from_slice(&labels).to_device(device)),
        class_names: CATEGORIES.iter().map(|c| c.to_string()).collect(),
    })
}

/// The options name a size, vendors and categories that exist.
fn check_options(options: &EmojiOptions) -> Result<()> {
    anyhow::ensure!(
        options.size >= 4 && options.size <= 256,
        "emoji size {} is not supported: use 4 to 256",
        options.size
    );
    anyhow::ensure!(
        !options.vendors.is_empty(),
        "no emoji vendor chosen: use Google, Twitter or both"
    );
    for name in &options.categories {
        anyhow::ensure!(
            CATEGORIES.contains(&name.as_str()),
            "unknown emoji category `{name}`; the categories are: {}",
            CATEGORIES.join(", ")
        );
    }
    Ok(())
}

/// One emoji of the catalogue: its label, and its pictures (the base emoji, then its skin
/// tones), each with whether Google and Twitter draw it.
type Emoji = (i64, Vec<(String, bool, bool)>);

/// Every emoji of the catalogue in `folder` that `options.categories` keeps, in catalogue order.
fn catalogue(folder: &Path, options: &EmojiOptions) -> Result<Vec<Emoji>> {
    let catalogue = folder.join("emoji.json");
    if !catalogue.exists() {
        return Err(missing_file(&catalogue, "emoji catalogue"));
    }
    let text =
        std::fs::read(&catalogue).with_context(|| format!("reading {}", catalogue.display()))?;
    let entries: Vec<Entry> = serde_json::from_slice(&text).with_context(|| {
        format!(
            "{} is not a valid emoji catalogue; run `make data` to reinstall it",
            catalogue.display()
        )
    })?;
    let mut out = Vec::new();
    for entry in &entries {
        let Some(label) = CATEGORIES.iter().position(|c| *c == entry.category) else {
            anyhow::bail!(
                "{}: unknown category `{}`",
                catalogue.display(),
                entry.category
            );
        };
        if !options.categories.is_empty() && !options.categories.contains(&entry.category) {
            continue;
        }
        let mut images = vec![(
            entry.image.clone(),
            entry.has_img_google,
            entry.has_img_twitter,
        )];
        images.extend(
            entry
                .skin_variations
                .values()
                .map(|v| (v.image.clone(), v.has_img_google, v.has_img_twitter)),
        );
        out.push((label as i64, images));
    }
    Ok(out)
}

/// The pictures at `paths` as `size × size` RGB bytes, channels last, one after another.
fn pictures(paths: &[PathBuf], size: u32) -> Result<Vec<u8>> {
    let mut pixels = Vec::with_capacity(paths.len() * (size * size * 3) as usize);
    for (path, result) in paths.iter().zip(read_parallel(paths, |p| {
        super::with_picture(p, |image| Ok(square(&image, size, false)))
    })) {
        let bytes = result.map_err(|why| {
            anyhow::anyhow!(
                "{}: {why}; run `make data` to reinstall the emoji",
                path.display()
            )
        })?;
        pixels.extend_from_slice(&bytes);
    }
    Ok(pixels)
}

/// The same emoji drawn by both vendors, as pairs: Google's picture the input, Twitter's the
/// target (`twitter_to_google` swaps them). Only emoji that both vendors draw, skin tones
/// included, in catalogue order; every tenth pair is `Test`, as in [`load`]. `options.vendors`
/// is not used. A well-posed translation: the input carries the colours and the shapes, and
/// the model learns the other vendor's style.
pub fn vendor_pairs(
    split: Split,
    options: &EmojiOptions,
    twitter_to_google: bool,
    device: Device,
) -> Result<super::paired::PairedDataset> {
    let folder = data_dir().join("emoji");
    vendor_pairs_from(&folder, split, options, twitter_to_google, device)
}

/// [`vendor_pairs`] from a folder holding `emoji.json` and `<vendor>/*.png`.
pub fn vendor_pairs_from(
    folder: &Path,
    split: Split,
    options: &EmojiOptions,
    twitter_to_google: bool,
    device: Device,
) -> Result<super::paired::PairedDataset> {
    let both = EmojiOptions {
        vendors: vec![Vendor::Google, Vendor::Twitter],
        ..options.clone()
    };
    check_options(&both)?;
    let (google, twitter) = (folder.join("google"), folder.join("twitter"));
    let mut pairs: Vec<(PathBuf, PathBuf)> = Vec::new();
    for (_, images) in catalogue(folder, &both)? {
        for (image, has_google, has_twitter) in images {
            if has_google && has_twitter {
                pairs.push((google.join(&image), twitter.join(&image)));
            }
        }
    }
    let chosen = split.pick(pairs, 10);
    anyhow::ensure!(
        !chosen.is_empty(),
        "no emoji of the chosen categories is drawn by both vendors"
    );
    let (inputs, targets): (Vec<PathBuf>, Vec<PathBuf>) = match twitter_to_google {
        false => chosen.into_iter().unzip(),
        true => chosen.into_iter().map(|(g, t)| (t, g)).unzip(),
    };
    let n = inputs.len();
    let read = |paths: &[PathBuf]| -> Result<Tensor> {
        let pixels = pictures(paths, options.size)?;
        Ok(bytes_to_images(&pixels, n, 3, options.size).to_device(device))
    };
    let direction = if twitter_to_google {
        "twitter→google"
    } else {
        "google→twitter"
    };
    Ok(super::paired::PairedDataset {
        name: format!("emoji {direction}/{}", split.name()),
        inputs: read(&inputs)?,
        targets: read(&targets)?,
    })
}

/// The emoji that both vendors draw as two unpaired sets for CycleGAN: Google's pictures as
/// domain A, Twitter's as B, in the same catalogue order and split as [`vendor_pairs`]. The
/// sets are aligned (`b[i]` is `a[i]` by the other vendor), which only scoring uses: training
/// shuffles each side on its own, so it never sees which pictures belong together.
pub fn vendor_sets(
    split: Split,
    options: &EmojiOptions,
    device: Device,
) -> Result<super::unpaired::UnpairedDataset> {
    let pairs = vendor_pairs(split, options, false, device)?;
    let mut sets = super::unpaired::UnpairedDataset::from_pairs(pairs);
    sets.name = format!("emoji google|twitter/{}", split.name());
    Ok(sets)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A catalogue of 12 emoji (one with a skin variation) and their PNGs for both vendors.
    fn fixture(dir: &Path) {
        let mut entries = Vec::new();
        for i in 0..12 {
            let category = if i < 6 { "Smileys & Emotion" } else { "Flags" };
            let mut entry = serde_json::json!({
                "image": format!("e{i}.png"), "category": category,
                "has_img_google": true, "has_img_twitter": i != 0,
            });
            if i == 1 {
                entry["skin_variations"] = serde_json::json!({"1F3FB": {"image": "e1-s.png", "has_img_google": true, "has_img_twitter": true}});
            }
            entries.push(entry);
        }
        std::fs::write(
            dir.join("emoji.json"),
            serde_json::Value::Array(entries).to_string(),
        )
        .unwrap();
        for vendor in ["google", "twitter"] {
            std::fs::create_dir_all(dir.join(vendor)).unwrap();
            // Red tells the emoji apart, green the vendor.
            let green = if vendor == "google" { 0 } else { 255 };
            for (i, name) in (0..12)
                .map(|i| format!("e{i}.png"))
                .chain(["e1-s.png".to_string()])
                .enumerate()
            {
                image::RgbaImage::from_pixel(8, 8, image::Rgba([i as u8 * 20, green, 0, 255]))
                    .save(dir.join(vendor).join(name))
                    .unwrap();
            }
        }
    }

    #[test]
    fn filters_splits_and_labels() {
        let dir = crate::data::test_dir("emoji-ok");
        fixture(&dir);
        let all = EmojiOptions::default().size(8);
        // google: 12 + 1 variation; twitter: 11 + 1 → 25 pictures; every tenth is test.
        let train = load_from(&dir, Split::Train, &all, Device::Cpu).unwrap();
        let test = load_from(&dir, Split::Test, &all, Device::Cpu).unwrap();
        assert_eq!((train.len(), test.len()), (23, 2));
        assert_eq!(train.image_shape(), [3, 8, 8]);
        let faces = EmojiOptions::faces().size(8);
        let train = load_from(&dir, Split::Train, &faces, Device::Cpu).unwrap();
        let labels = Vec::<i64>::try_from(train.labels.as_ref().unwrap()).unwrap();
        assert!(
            labels.iter().all(|&l| l == 0),
            "only Smileys & Emotion (label 0): {labels:?}"
        );
        assert_eq!(train.class_names.len(), CATEGORIES.len());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// Pairs hold the same emoji by both vendors (one only Google draws is left out), Google's
    /// as the input unless the direction is swapped, split one in ten as the pictures are.
    #[test]
    fn vendor_pairs_match_the_same_emoji() {
        let dir = crate::data::test_dir("emoji-pairs");
        fixture(&dir);
        let options = EmojiOptions::default().size(8);
        let train = vendor_pairs_from(&dir, Split::Train, &options, false, Device::Cpu).unwrap();
        let test = vendor_pairs_from(&dir, Split::Test, &options, false, Device::Cpu).unwrap();
        // e1 … e11 and e1's skin tone: 12 pairs, the tenth is test.
        assert_eq!((train.len(), test.len()), (11, 1));
        let channel = |t: &Tensor, c: i64| {
            t.select(1, c)
                .mean_dim(&[1i64, 2][..], false, tch::Kind::Float)
        };
        assert_eq!(channel(&train.inputs, 0), channel(&train.targets, 0));
        assert!(channel(&train.inputs, 1).max().double_value(&[]) < -0.99);
        assert!(channel(&train.targets, 1).min().double_value(&[]) > 0.99);
        let swapped = vendor_pairs_from(&dir, Split::Train, &options, true, Device::Cpu).unwrap();
        assert_eq!(swapped.inputs, train.targets);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn bad_input_is_named() {
        let dir = crate::data::test_dir("emoji-bad");
        let err = load_from(&dir, Split::Train, &EmojiOptions::default(), Device::Cpu)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("emoji.json") && err.contains("make data"),
            "{err}"
        );
        fixture(&dir);
        let mut options = EmojiOptions::default().size(8);
        options.categories = vec!["Faces".into()];
        let err = load_from(&dir, Split::Train, &options, Device::Cpu)
            .unwrap_err()
            .to_string();
        assert!(err.contains("unknown emoji category `Faces`"), "{err}");
        std::fs::write(dir.join("twitter/e5.png"), b"broken").unwrap();
        let err = load_from(
            &dir,
            Split::Train,
            &EmojiOptions::default().size(8),
            Device::Cpu,
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("twitter/e5.png"), "{err}");
        std::fs::remove_file(dir.join("google/e3.png")).unwrap();
        let err = load_from(
            &dir,
            Split::Train,
            &EmojiOptions::default().size(8),
            Device::Cpu,
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("google/e3.png") && err.contains("does not exist"),
            "{err}"
        );
        std::fs::write(dir.join("emoji.json"), "[{\"image\": ").unwrap();
        let err = format!(
            "{:#}",
            load_from(&dir, Split::Train, &EmojiOptions::default(), Device::Cpu).unwrap_err()
        );
        assert!(err.contains("not a valid emoji catalogue"), "{err}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
