//! Image pairs for Pix2Pix: an input image and the target the generator should produce from it.
//!
//! Two sources:
//! - [`load_ab_folder`]: a folder of side-by-side pictures, input and target joined left|right, as
//!   the pix2pix datasets (facades, maps, edges2shoes, …) ship them, with a direction A→B or B→A;
//! - [`edges_to`]: pairs the crate derives from a dataset already installed: Canny edges (black
//!   lines on white, like the edges2shoes sketches) as input, the picture as target. The course
//!   uses edges→emoji (64×64 colour) and edges→fashion (Fashion-MNIST upscaled to 64×64).
//!
//! [`jitter`] is the paper's augmentation (Isola et al., 2017, §6.2): resize to 1.125× (256→286),
//! take a random crop back to the original size, and flip left-right half of the time, with the
//! SAME crop and flip for the input and its target (otherwise the pair no longer corresponds).

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use image::{DynamicImage, GrayImage};
use rand::Rng;
use tch::{Device, Tensor};

use super::image_folder::{bytes_to_images, square};
use super::{Dataset, read_parallel};

/// Which half of an A|B picture is the input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// Left half → right half.
    AtoB,
    /// Right half → left half.
    BtoA,
}

/// Aligned inputs and targets, `[N, C, H, W]` in [-1, 1], on one device.
#[derive(Debug)]
pub struct PairedDataset {
    pub name: String,
    pub inputs: Tensor,
    pub targets: Tensor,
}

impl PairedDataset {
    pub fn len(&self) -> usize {
        self.inputs.size()[0] as usize
    }
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Input and target of the pairs at `index`, e.g. a mini-batch.
    pub fn select(&self, index: &Tensor) -> (Tensor, Tensor) {
        let index = index.to_device(self.inputs.device());
        (
            self.inputs.index_select(0, &index),
            self.targets.index_select(0, &index),
        )
    }
}

/// Loads a folder of side-by-side A|B pictures, each half resized to `size × size` RGB.
pub fn load_ab_folder(
    folder: impl AsRef<Path>,
    direction: Direction,
    size: u32,
    device: Device,
) -> Result<PairedDataset> {
    let folder = folder.as_ref();
    anyhow::ensure!(
        matches!(size, 64 | 128 | 256),
        "pair size {size} is not supported: use 64, 128 or 256"
    );
    anyhow::ensure!(
        folder.is_dir(),
        "{} is not a folder of A|B pictures",
        folder.display()
    );
    let mut paths: Vec<PathBuf> = std::fs::read_dir(folder)
        .with_context(|| format!("listing {}", folder.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.extension().is_some_and(|e| {
                matches!(
                    e.to_string_lossy().to_ascii_lowercase().as_str(),
                    "png" | "jpg" | "jpeg"
                )
            })
        })
        .collect();
    paths.sort();
    anyhow::ensure!(
        !paths.is_empty(),
        "{} holds no .png or .jpg picture",
        folder.display()
    );
    let halves = read_parallel(&paths, |path| {
        super::with_picture(path, |image| {
            let (w, h) = (image.width(), image.height());
            if w < 2 || w % 2 != 0 {
                return Err(format!(
                    "{w}×{h} cannot be split into two halves side by side (the width must be even)"
                ));
            }
            let (left, right) = split_halves(&image);
            Ok((square(&left, size, false), square(&right, size, false)))
        })
    });
    let (mut a, mut b) = (Vec::new(), Vec::new());
    for (path, result) in paths.iter().zip(halves) {
        let (left, right) = result.map_err(|why| anyhow::anyhow!("{}: {why}", path.display()))?;
        a.extend(left);
        b.extend(right);
    }
    let (a, b) = (
        bytes_to_images(&a, paths.len(), 3, size),
        bytes_to_images(&b, paths.len(), 3, size),
    );
    let (inputs, targets) = if direction == Direction::AtoB {
        (a, b)
    } else {
        (b, a)
    };
    Ok(PairedDataset {
        name: format!(
            "{} ({direction:?})",
            folder
                .file_name()
                .map_or("pairs".into(), |n| n.to_string_lossy().into_owned())
        ),
        inputs: inputs.to_device(device),
        targets: targets.to_device(device),
    })
}

/// Pairs (edges of each picture → the picture) from any dataset, at `size × size`.
/// The targets keep the dataset's channels; the inputs are one channel of black lines on white.
pub fn edges_to(data: &Dataset, size: u32) -> Result<PairedDataset> {
    anyhow::ensure!(
        matches!(size, 64 | 128 | 256),
        "pair size {size} is not supported: use 64, 128 or 256"
    );
    let device = data.device();
    let s = size as i64;
    let targets = if data.image_shape()[1] == s {
        data.images.shallow_clone()
    } else {
        data.images
            .upsample_bilinear2d([s, s], false, None, None)
            .clamp(-1.0, 1.0)
    };
    // Grey bytes on the CPU, one copy for the whole set.
    let grey = if targets.size()[1] == 3 {
        // ITU-R BT.601 luma
        (targets.select(1, 0) * 0.299 + targets.select(1, 1) * 0.587 + targets.select(1, 2) * 0.114)
            .unsqueeze(1)
    } else {
        targets.shallow_clone()
    };
    let bytes = crate::viz::to_u8(&grey).contiguous();
    let bytes = Vec::<u8>::try_from(bytes.view([-1]))?;
    let n = data.len();
    let mut edges = Vec::with_capacity(bytes.len());
    for picture in bytes.chunks_exact((s * s) as usize) {
        let image = GrayImage::from_raw(size, size, picture.to_vec()).expect("buffer size matches");
        // Thresholds on the gradient magnitude: low enough for faint outlines, high enough to
        // ignore JPEG-like noise. The edge map is inverted to black lines on white.
        let map = imageproc::edges::canny(&image, 40.0, 90.0);
        edges.extend(map.into_raw().into_iter().map(|v| 255 - v));
    }
    Ok(PairedDataset {
        name: format!("edges→{}", data.name),
        inputs: bytes_to_images(&edges, n, 1, size).to_device(device),
        targets,
    })
}

/// Pairs (each picture shrunk `factor` times and enlarged back → the picture) from any dataset:
/// super-resolution, at the dataset's own size. The input keeps the colours and the layout and
/// loses the detail (averaged over `factor × factor` blocks, then bilinearly enlarged), so the
/// only uncertain part of the answer is the fine detail: where L1 alone paints a blur.
pub fn shrunk_to(data: &Dataset, factor: i64) -> Result<PairedDataset> {
    let [_, h, w] = data.image_shape();
    anyhow::ensure!(
        factor >= 2 && h % factor == 0 && w % factor == 0,
        "shrink factor {factor} must be 2 or more and divide the images' {h}×{w}"
    );
    let targets = data.images.shallow_clone();
    let inputs = targets
        .avg_pool2d(
            [factor, factor],
            [factor, factor],
            [0, 0],
            false,
            true,
            None::<i64>,
        )
        .upsample_bilinear2d([h, w], false, None, None)
        .clamp(-1.0, 1.0);
    Ok(PairedDataset {
        name: format!("{}×-shrunk→{}", factor, data.name),
        inputs,
        targets,
    })
}

/// The paper's random jitter, applied to a batch of pairs: both images of a pair get the same
/// resize (×1.125), random crop and left-right flip; each pair gets its own crop and flip.
pub fn jitter(inputs: &Tensor, targets: &Tensor, rng: &mut impl Rng) -> Result<(Tensor, Tensor)> {
    let (size, t) = (inputs.size(), targets.size());
    anyhow::ensure!(
        size.len() == 4 && t.len() == 4 && size[0] > 0 && size[0] == t[0] && size[2..] == t[2..],
        "jitter needs a non-empty batch of pairs, inputs [n, C, H, W] and targets [n, C', H, W]; \
         got {size:?} and {t:?}"
    );
    let (n, h, w) = (size[0], size[2], size[3]);
    let (big_h, big_w) = (
        (h as f64 * 1.125).round() as i64,
        (w as f64 * 1.125).round() as i64,
    );
    let ci = size[1];
    // Resize input and target together so they are interpolated identically.
    let both =
        Tensor::cat(&[inputs, targets], 1).upsample_bilinear2d([big_h, big_w], false, None, None);
    let mut out = Vec::with_capacity(n as usize);
    for i in 0..n {
        let (top, left) = (
            rng.random_range(0..=big_h - h),
            rng.random_range(0..=big_w - w),
        );
        let crop = both.get(i).narrow(1, top, h).narrow(2, left, w);
        out.push(if rng.random_bool(0.5) {
            crop.flip([2])
        } else {
            crop
        });
    }
    let out = Tensor::stack(&out, 0);
    let total = out.size()[1];
    Ok((out.narrow(1, 0, ci), out.narrow(1, ci, total - ci)))
}

/// The left and right halves of an A|B picture.
pub fn split_halves(image: &DynamicImage) -> (DynamicImage, DynamicImage) {
    let (w, h) = (image.width(), image.height());
    (
        image.crop_imm(0, 0, w / 2, h),
        image.crop_imm(w / 2, 0, w / 2, h),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The input keeps a picture's colours and loses its detail: a plain picture comes back as
    /// it was, a pixel checkerboard as its flat mean; the size is kept.
    #[test]
    fn shrunk_pairs_keep_the_colours_and_lose_the_detail() {
        let cpu = (tch::Kind::Float, Device::Cpu);
        let i = Tensor::arange(16, (tch::Kind::Int64, Device::Cpu));
        let board = ((i.view([16, 1]) + i.view([1, 16])).remainder(2) * 2 - 1)
            .to_kind(tch::Kind::Float)
            .view([1, 1, 16, 16])
            .repeat([1, 3, 1, 1]);
        let plain = Tensor::full([1, 3, 16, 16], 0.4, cpu);
        let images = Tensor::cat(&[&plain, &board], 0);
        let data = Dataset {
            name: "tests".into(),
            images: images.shallow_clone(),
            labels: None,
            class_names: vec![],
        };
        let pairs = shrunk_to(&data, 4).unwrap();
        assert_eq!(pairs.inputs.size(), [2, 3, 16, 16]);
        assert_eq!(pairs.targets, images);
        let most = |t: Tensor| t.abs().max().double_value(&[]);
        assert!(most(pairs.inputs.get(0) - plain.get(0)) < 1e-6);
        assert!(
            most(pairs.inputs.get(1)) < 1e-6,
            "the checkerboard's mean is 0"
        );
        assert!(pairs.name.contains("tests"));
        assert!(shrunk_to(&data, 3).is_err());
    }
    use rand::SeedableRng;
    use tch::Kind;

    #[test]
    fn ab_folder_respects_direction() {
        let dir = crate::data::test_dir("ab");
        // Left half red, right half blue.
        let mut picture = image::RgbImage::from_pixel(128, 64, image::Rgb([255, 0, 0]));
        for x in 64..128 {
            for y in 0..64 {
                picture.put_pixel(x, y, image::Rgb([0, 0, 255]));
            }
        }
        picture.save(dir.join("1.png")).unwrap();
        let pairs = load_ab_folder(&dir, Direction::AtoB, 64, Device::Cpu).unwrap();
        assert_eq!(pairs.inputs.size(), [1, 3, 64, 64]);
        let red = |t: &Tensor| t.get(0).get(0).mean(Kind::Float).double_value(&[]);
        assert_eq!((red(&pairs.inputs), red(&pairs.targets)), (1.0, -1.0));
        let reversed = load_ab_folder(&dir, Direction::BtoA, 64, Device::Cpu).unwrap();
        assert_eq!((red(&reversed.inputs), red(&reversed.targets)), (-1.0, 1.0));
        image::RgbImage::new(63, 10)
            .save(dir.join("2.png"))
            .unwrap();
        let err = load_ab_folder(&dir, Direction::AtoB, 64, Device::Cpu)
            .unwrap_err()
            .to_string();
        assert!(err.contains("2.png") && err.contains("even"), "{err}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn edges_of_a_square_outline_it() {
        // A white square on black: edges lie on its border, nowhere else.
        let images = Tensor::full([1, 1, 64, 64], -1.0, (Kind::Float, Device::Cpu));
        let _ = images.narrow(2, 16, 32).narrow(3, 16, 32).fill_(1.0);
        let data = Dataset {
            name: "square".into(),
            images,
            labels: None,
            class_names: vec![],
        };
        let pairs = edges_to(&data, 64).unwrap();
        let lines = pairs.inputs.lt(0.0); // black line pixels
        let count = lines.sum(Kind::Int64).int64_value(&[]);
        assert!((100..400).contains(&count), "edge pixels: {count}");
        assert_eq!(
            lines
                .narrow(2, 24, 16)
                .narrow(3, 24, 16)
                .sum(Kind::Int64)
                .int64_value(&[]),
            0,
            "no edge inside"
        );
        assert_eq!(
            lines.narrow(2, 0, 8).sum(Kind::Int64).int64_value(&[]),
            0,
            "no edge in the empty top band"
        );
        assert!(pairs.targets.equal(&data.images));
    }

    #[test]
    fn jitter_moves_input_and_target_together() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(3);
        let inputs = Tensor::rand([8, 1, 64, 64], (Kind::Float, Device::Cpu));
        let targets = inputs.repeat([1, 3, 1, 1]) * 2.0; // target = 2 × input, in each channel
        let (a, b) = jitter(&inputs, &targets, &mut rng).unwrap();
        assert!(jitter(&inputs.narrow(0, 0, 0), &targets.narrow(0, 0, 0), &mut rng).is_err());
        assert_eq!(
            (a.size(), b.size()),
            (vec![8, 1, 64, 64], vec![8, 3, 64, 64])
        );
        let gap = (b.select(1, 1) - a.select(1, 0) * 2.0)
            .abs()
            .max()
            .double_value(&[]);
        assert!(
            gap < 1e-5,
            "input and target were cropped or flipped differently: {gap}"
        );
        assert!(!a.equal(&inputs), "jitter changed nothing");
    }
}
