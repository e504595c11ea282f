//! Two sets of images without pairs, for CycleGAN (Zhu et al., 2017): pictures of domain A and
//! pictures of domain B, with no picture of one matched to a picture of the other.
//!
//! Two sources:
//! - [`super::emoji::vendor_sets`]: the emoji that both Google and Twitter draw, Google's
//!   pictures as A and Twitter's as B. Training draws each side in its own shuffled order, so
//!   the pairing is never seen; it is kept ([`UnpairedDataset::aligned`]) to score a translation
//!   against the true counterpart of every test emoji, which a horse-to-zebra demo cannot do.
//! - [`load_folders`]: the layout of the CycleGAN datasets (`trainA/`, `trainB/`, `testA/`,
//!   `testB/`), any pictures in each.

use std::path::Path;

use anyhow::{Result, ensure};
use tch::{Device, Tensor};

use super::Split;
use super::image_folder::{self, FolderOptions, Skipped};
use super::paired::PairedDataset;

/// Pictures of domain A and of domain B, `[N, C, H, W]` in [−1, 1], on one device. The two
/// sets may differ in size.
#[derive(Debug)]
pub struct UnpairedDataset {
    pub name: String,
    pub a: Tensor,
    pub b: Tensor,
    /// True when `b[i]` is the true counterpart of `a[i]` (the same emoji by the other vendor).
    /// Training never uses it: each side is shuffled on its own. Scoring does ([`Self::truth`]).
    pub aligned: bool,
}

impl UnpairedDataset {
    /// Pictures of A: the count of examples an epoch goes through.
    pub fn len(&self) -> usize {
        self.a.size()[0] as usize
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Forgets which picture of B belongs to which of A: what training would see of `pairs`.
    pub fn from_pairs(pairs: PairedDataset) -> Self {
        UnpairedDataset {
            name: pairs.name,
            a: pairs.inputs,
            b: pairs.targets,
            aligned: true,
        }
    }

    /// The true pairs A → B, for scoring a translation; `None` when the sets are not aligned.
    pub fn truth(&self) -> Option<PairedDataset> {
        self.aligned.then(|| PairedDataset {
            name: self.name.clone(),
            inputs: self.a.shallow_clone(),
            targets: self.b.shallow_clone(),
        })
    }

    /// The same sets the other way round (B becomes A), to translate B → A.
    pub fn swapped(&self) -> Self {
        UnpairedDataset {
            name: format!("{} (B → A)", self.name),
            a: self.b.shallow_clone(),
            b: self.a.shallow_clone(),
            aligned: self.aligned,
        }
    }
}

/// Loads one split of a folder in the CycleGAN datasets' layout: `trainA/` and `trainB/` (or
/// `testA/` and `testB/`), every JPEG/PNG in each, resized to `size × size` RGB. The files each
/// loader passed over are returned for the caller to report.
pub fn load_folders(
    folder: impl AsRef<Path>,
    split: Split,
    size: u32,
    device: Device,
) -> Result<(UnpairedDataset, Skipped)> {
    let folder = folder.as_ref();
    let prefix = match split {
        Split::Train => "train",
        Split::Test => "test",
    };
    let (a, b) = (
        folder.join(format!("{prefix}A")),
        folder.join(format!("{prefix}B")),
    );
    for side in [&a, &b] {
        ensure!(
            side.is_dir(),
            "{} has no folder {}: an unpaired dataset holds {prefix}A/ and {prefix}B/, one \
             folder of pictures per domain (the CycleGAN datasets' layout)",
            folder.display(),
            side.file_name().unwrap_or_default().to_string_lossy()
        );
    }
    let options = FolderOptions::default().size(size);
    let (a, mut skipped) = image_folder::load(&a, &options, device)?;
    let (b, skipped_b) = image_folder::load(&b, &options, device)?;
    skipped.0.extend(skipped_b.0);
    let name = folder.file_name().unwrap_or_default().to_string_lossy();
    Ok((
        UnpairedDataset {
            name: format!("{name}/{}", split.name()),
            a: a.images,
            b: b.images,
            aligned: false,
        },
        skipped,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folders_in_the_cyclegan_layout_load_each_side() {
        let dir = crate::data::test_dir("unpaired-layout");
        for (side, n, shade) in [("trainA", 3, 40u8), ("trainB", 2, 200)] {
            std::fs::create_dir_all(dir.join(side)).unwrap();
            for i in 0..n {
                let picture = image::RgbImage::from_pixel(8, 8, image::Rgb([shade, shade, shade]));
                picture
                    .save(dir.join(side).join(format!("{i}.png")))
                    .unwrap();
            }
        }
        let (data, skipped) = load_folders(&dir, Split::Train, 8, Device::Cpu).unwrap();
        assert!(skipped.0.is_empty());
        assert_eq!(
            (data.a.size(), data.b.size()),
            (vec![3, 3, 8, 8], vec![2, 3, 8, 8])
        );
        assert!(!data.aligned && data.truth().is_none());
        // A is dark and B light: the sides were not mixed up.
        assert!(data.a.mean(tch::Kind::Float).double_value(&[]) < 0.0);
        assert!(data.b.mean(tch::Kind::Float).double_value(&[]) > 0.0);
        // No test folders: the error names what is missing and the layout.
        let err = load_folders(&dir, Split::Test, 8, Device::Cpu)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("no folder testA") && err.contains("testB/"),
            "{err}"
        );
        std::fs::remove_dir_all(&dir).ok();
    }
}
