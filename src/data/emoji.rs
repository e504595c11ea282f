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

    // (path, label) of every picture wanted, in catalogue order.
    let mut wanted: Vec<(PathBuf, i64)> = Vec::new();
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
        for &vendor in &options.vendors {
            let has = |google: bool, twitter: bool| {
                if vendor == Vendor::Google {
                    google
                } else {
                    twitter
                }
            };
            let dir = folder.join(vendor.folder());
            if has(entry.has_img_google, entry.has_img_twitter) {
                wanted.push((dir.join(&entry.image), label as i64));
            }
            for v in entry.skin_variations.values() {
                if has(v.has_img_google, v.has_img_twitter) {
                    wanted.push((dir.join(&v.image), label as i64));
                }
            }
        }
    }
    let chosen: Vec<(PathBuf, i64)> = wanted
        .into_iter()
        .enumerate()
        .filter(|(i, _)| split.holds(*i, 10))
        .map(|(_, w)| w)
        .collect();
    anyhow::ensure!(
        !chosen.is_empty(),
        "no emoji matches the chosen vendors and categories"
    );
    if let Some((missing, _)) = chosen.iter().find(|(p, _)| !p.exists()) {
        return Err(missing_file(missing, "emoji picture"));
    }
    let paths: Vec<PathBuf> = chosen.iter().map(|(p, _)| p.clone()).collect();
    let mut pixels = Vec::with_capacity(paths.len() * (options.size * options.size * 3) as usize);
    for (path, result) in paths.iter().zip(read_parallel(&paths, |p| {
        super::with_picture(p, |image| Ok(square(&image, options.size, false)))
    })) {
        let bytes = result.map_err(|why| {
            anyhow::anyhow!(
                "{}: {why}; run `make data` to reinstall the emoji",
                path.display()
            )
        })?;
        pixels.extend_from_slice(&bytes);
    }
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
            for name in (0..12)
                .map(|i| format!("e{i}.png"))
                .chain(["e1-s.png".to_string()])
            {
                image::RgbaImage::from_pixel(8, 8, image::Rgba([0, 0, 0, 255]))
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
