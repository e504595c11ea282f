//! Differentiable augmentation (Zhao et al., 2020, "DiffAugment"): D only ever sees augmented
//! images, real and fake alike, and G's gradient flows back through the same augmentation.
//!
//! With few real images D memorises them: its accuracy on the training set climbs while G's
//! samples get worse. Augmenting only the real images would teach G to make augmented images;
//! augmenting both, with operations G can be differentiated through, does not. The policy here
//! is the paper's "color, translation, cutout", each drawn per image from this step's random
//! stream (so a seeded run augments the same way when resumed):
//! - colour: brightness `+U(−0.5, 0.5)`, saturation `×U(0, 2)` around the pixel's channel mean,
//!   contrast `×U(0.5, 1.5)` around the image's mean;
//! - translation by up to 1/8 of the side in each direction, the uncovered border filled with 0;
//! - cutout: a square of half the side, at a random place, set to 0.

use anyhow::{Result, ensure};
use tch::{Kind, Tensor};

use crate::game::Discriminator;

/// The paper's augmentation of a batch of images `[B, C, H, W]`, differentiable with respect
/// to the images.
pub fn diff_augment(images: &Tensor) -> Result<Tensor> {
    ensure!(
        images.dim() == 4,
        "differentiable augmentation works on images [B, C, H, W], got {:?}: it is for the \
         image models (switch diff_augment off for points)",
        images.size()
    );
    Ok(cutout(&translate(&colour(images))))
}

fn per_image(images: &Tensor) -> Tensor {
    Tensor::rand(
        [images.size()[0], 1, 1, 1],
        (images.kind(), images.device()),
    )
}

/// Brightness, saturation, contrast, each with its own random factor per image.
pub fn colour(images: &Tensor) -> Tensor {
    let x = images + (per_image(images) - 0.5);
    let mean = x.mean_dim(1, true, x.kind());
    let x = (&x - &mean) * (per_image(images) * 2.0) + mean;
    let mean = x.mean_dim([1i64, 2, 3].as_slice(), true, x.kind());
    (&x - &mean) * (per_image(images) + 0.5) + mean
}

/// A random shift of each image by whole pixels, up to `side / 8` each way; what moves in is 0.
pub fn translate(images: &Tensor) -> Tensor {
    let size = images.size();
    let (b, h, w) = (size[0], size[2], size[3]);
    let device = images.device();
    let shift = |side: i64| (side as f64 / 8.0 + 0.5) as i64;
    let offsets = |side: i64| {
        let s = shift(side);
        Tensor::randint_low(-s, s + 1, [b, 1, 1], (Kind::Int64, device))
    };
    let (dy, dx) = (offsets(h), offsets(w));
    let grids = Tensor::meshgrid_indexing(
        &[
            Tensor::arange(b, (Kind::Int64, device)),
            Tensor::arange(h, (Kind::Int64, device)),
            Tensor::arange(w, (Kind::Int64, device)),
        ],
        "ij",
    );
    // Index into the image padded by one zero pixel: a source outside the image lands on it.
    let rows = (&grids[1] + dy + 1).clamp(0, h + 1);
    let cols = (&grids[2] + dx + 1).clamp(0, w + 1);
    let padded = images.constant_pad_nd([1, 1, 1, 1]).permute([0, 2, 3, 1]);
    padded
        .index(&[Some(&grids[0]), Some(&rows), Some(&cols)])
        .permute([0, 3, 1, 2])
}

/// Each image with one square of half its side set to 0, at a random place (it may reach past
/// the edge).
pub fn cutout(images: &Tensor) -> Tensor {
    let size = images.size();
    let (b, h, w) = (size[0], size[2], size[3]);
    let device = images.device();
    let inside = |side: i64, shape: [i64; 3]| {
        let cut = (side as f64 / 2.0 + 0.5) as i64;
        let centre = Tensor::randint_low(0, side + (1 - cut % 2), [b, 1, 1], (Kind::Int64, device));
        let start = centre - cut / 2;
        let at = Tensor::arange(side, (Kind::Int64, device)).view(shape);
        at.ge_tensor(&start)
            .logical_and(&at.lt_tensor(&(start + cut)))
    };
    let hole = inside(h, [1, h, 1]).logical_and(&inside(w, [1, 1, w])); // [B, H, W]
    images * hole.logical_not().unsqueeze(1).to_kind(images.kind())
}

/// A discriminator that augments every batch before scoring it when `on`, and passes it
/// through untouched otherwise: the crate's step judges through one, with `on` set to the
/// config's `diff_augment`, in D's update and in G's.
pub struct Augmented<'a> {
    inner: &'a dyn Discriminator,
    on: bool,
}

impl<'a> Augmented<'a> {
    pub fn new(inner: &'a dyn Discriminator, on: bool) -> Self {
        Augmented { inner, on }
    }
}

impl Discriminator for Augmented<'_> {
    fn score(&self, samples: &Tensor, labels: Option<&Tensor>, train: bool) -> Result<Tensor> {
        if self.on {
            self.inner.score(&diff_augment(samples)?, labels, train)
        } else {
            self.inner.score(samples, labels, train)
        }
    }

    fn batch_independent(&self) -> bool {
        self.inner.batch_independent()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::Device;

    fn images() -> Tensor {
        Tensor::rand([16, 3, 16, 16], (Kind::Float, Device::Cpu)) * 2.0 - 1.0
    }

    #[test]
    fn translation_moves_whole_images_by_at_most_an_eighth() {
        tch::manual_seed(3);
        let x = images();
        let moved = translate(&x);
        assert_eq!(moved.size(), x.size());
        // Each output image is its input shifted by (dy, dx) with |d| ≤ 2 at side 16: find it.
        let mut shifts = std::collections::BTreeSet::new();
        for i in 0..16 {
            let (a, m) = (x.get(i), moved.get(i));
            let found = (-2..=2i64)
                .flat_map(|dy| (-2..=2i64).map(move |dx| (dy, dx)))
                .find(|&(dy, dx)| {
                    let shifted = a
                        .constant_pad_nd([2, 2, 2, 2])
                        .narrow(1, 2 + dy, 16)
                        .narrow(2, 2 + dx, 16);
                    shifted.equal(&m)
                });
            shifts.insert(found.unwrap_or_else(|| panic!("image {i} is not a shift")));
        }
        assert!(shifts.len() > 3, "the shifts should vary: {shifts:?}");
    }

    #[test]
    fn cutout_zeroes_one_square_of_half_the_side_at_most() {
        tch::manual_seed(4);
        let x = images().abs() + 0.1; // no pixel is 0 before
        let cut = cutout(&x);
        for i in 0..16 {
            let zeros = cut.get(i).get(0).eq(0.0);
            let count = zeros.sum(Kind::Int64).int64_value(&[]);
            assert!(count > 0 && count <= 64, "image {i}: {count} pixels cut");
            // The same hole in every channel.
            assert!(
                cut.get(i)
                    .eq(0.0)
                    .sum_dim_intlist([0i64].as_slice(), false, Kind::Int64)
                    .remainder(3)
                    .eq(0)
                    .all()
                    .int64_value(&[])
                    == 1
            );
        }
    }

    /// (That the same seed augments the same way is checked in tests/determinism.rs, whose
    /// tests hold the process's one random generator alone: a resumed run with DiffAugment is
    /// the run that never stopped.)
    #[test]
    fn augmentation_passes_gradients() {
        let x = images().set_requires_grad(true);
        let a = diff_augment(&x).unwrap();
        a.sum(Kind::Float).backward();
        let grad = x.grad();
        assert!(grad.abs().sum(Kind::Float).double_value(&[]) > 0.0);
        // Colour changes values but keeps the shape; points are refused with what to do.
        assert_eq!(colour(&x).size(), x.size());
        let err = diff_augment(&Tensor::zeros([4, 2], (Kind::Float, Device::Cpu))).unwrap_err();
        assert!(err.to_string().contains("diff_augment off"), "{err}");
    }
}
