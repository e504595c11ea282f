//! Pix2Pix's outputs against their targets, on images in [-1, 1] measured on the [0, 1] scale.
//!
//! - Pixel scores, which reward the blurry average: [`l1`], [`psnr`], [`ssim`].
//! - What the adversarial term is for, each measured on a set of images alone so that outputs
//!   are read beside the targets' own value: [`sharpness`] (high-frequency energy),
//!   [`saturation`] (colour), [`checkerboard`] (the period-2 pattern of transposed convolutions).
//! - Scores that tell crisp edges from speckle, measured where the targets have edges and where
//!   they are flat: [`edge_contrast`] and [`flat_noise`], and [`flat_noise_by_distance`], where
//!   in the fills the noise lies.
//! - [`translation_scores`] gathers them, with a Fréchet distance in a classifier's features.

use anyhow::{Result, ensure};
use tch::{Kind, Tensor};

fn to_unit(images: &Tensor) -> Tensor {
    (images.to_kind(Kind::Double) + 1.0) / 2.0
}

fn check(outputs: &Tensor, targets: &Tensor) -> Result<()> {
    ensure!(
        outputs.size() == targets.size() && outputs.dim() == 4,
        "outputs {:?} and targets {:?} must both be [N, C, H, W] of one shape",
        outputs.size(),
        targets.size()
    );
    Ok(())
}

/// Mean absolute error on the [0, 1] scale.
pub fn l1(outputs: &Tensor, targets: &Tensor) -> Result<f64> {
    check(outputs, targets)?;
    Ok(
        (to_unit(outputs) - to_unit(&targets.to_device(outputs.device())))
            .abs()
            .mean(Kind::Double)
            .double_value(&[]),
    )
}

/// Peak signal-to-noise ratio in dB on the [0, 1] scale, `10 log₁₀(1 / MSE)`, of the whole set
/// (infinite for identical images).
pub fn psnr(outputs: &Tensor, targets: &Tensor) -> Result<f64> {
    check(outputs, targets)?;
    let mse = (to_unit(outputs) - to_unit(&targets.to_device(outputs.device())))
        .square()
        .mean(Kind::Double)
        .double_value(&[]);
    Ok(10.0 * (1.0 / mse).log10())
}

/// Mean structural similarity (Wang et al., 2004) on the [0, 1] scale: an 11×11 Gaussian window of
/// σ = 1.5, `C₁ = 0.01²`, `C₂ = 0.03²`, each channel separately, averaged over the valid window
/// positions, channels and images. 1 for identical images.
pub fn ssim(outputs: &Tensor, targets: &Tensor) -> Result<f64> {
    check(outputs, targets)?;
    let size = outputs.size();
    ensure!(
        size[2] >= 11 && size[3] >= 11,
        "SSIM's 11×11 window needs images of at least 11×11, got {}×{}",
        size[2],
        size[3]
    );
    let device = outputs.device();
    let (x, y) = (to_unit(outputs), to_unit(&targets.to_device(device)));
    let channels = size[1];
    let g = Tensor::arange(11, (Kind::Double, device)) - 5.0;
    let g = (-(&g * &g) / (2.0 * 1.5 * 1.5)).exp();
    let g = &g / g.sum(Kind::Double);
    let window = g.unsqueeze(1).matmul(&g.unsqueeze(0)); // [11, 11], sums to 1
    let window = window.view([1, 1, 11, 11]).repeat([channels, 1, 1, 1]); // one per channel
    let blur = |t: &Tensor| t.conv2d(&window, None::<Tensor>, [1, 1], [0, 0], [1, 1], channels);
    let (mx, my) = (blur(&x), blur(&y));
    let (sxx, syy, sxy) = (
        blur(&(&x * &x)) - &mx * &mx,
        blur(&(&y * &y)) - &my * &my,
        blur(&(&x * &y)) - &mx * &my,
    );
    let (c1, c2) = (0.01f64.powi(2), 0.03f64.powi(2));
    let map = ((&mx * &my * 2.0 + c1) * (sxy * 2.0 + c2))
        / ((&mx * &mx + &my * &my + c1) * (sxx + syy + c2));
    Ok(map.mean(Kind::Double).double_value(&[]))
}

/// `images` on the [0, 1] scale, refused unless they are `[N, C, H, W]` of at least 2×2.
fn unit_2x2(images: &Tensor, what: &str) -> Result<Tensor> {
    ensure!(
        images.dim() == 4 && images.size()[2] >= 2 && images.size()[3] >= 2,
        "{what} needs images [N, C, H, W] of at least 2×2, got {:?}",
        images.size()
    );
    Ok(to_unit(images))
}

/// High-frequency energy: the mean squared difference between neighbouring pixels, across and
/// down, per channel. A blurred image has less than its sharp original; noise adds more.
pub fn sharpness(images: &Tensor) -> Result<f64> {
    let x = unit_2x2(images, "sharpness")?;
    let (h, w) = (x.size()[2], x.size()[3]);
    let dx = x.narrow(3, 1, w - 1) - x.narrow(3, 0, w - 1);
    let dy = x.narrow(2, 1, h - 1) - x.narrow(2, 0, h - 1);
    Ok((dx.square().mean(Kind::Double) + dy.square().mean(Kind::Double)).double_value(&[]) / 2.0)
}

/// Mean colour saturation, HSV's `(max − min) / max` over the three channels, 0 for grey pixels
/// (and for black ones); 0 for grey images. The L1 median's muddy compromise lowers it.
pub fn saturation(images: &Tensor) -> Result<f64> {
    ensure!(
        images.dim() == 4 && matches!(images.size()[1], 1 | 3),
        "saturation needs images [N, 1 or 3, H, W], got {:?}",
        images.size()
    );
    if images.size()[1] == 1 {
        return Ok(0.0);
    }
    let x = to_unit(images);
    let (max, _) = x.max_dim(1, false);
    let (min, _) = x.min_dim(1, false);
    let s = (&max - min) / max.clamp_min(1e-6);
    Ok(s.mean(Kind::Double).double_value(&[]))
}

/// Checkerboard energy: the mean absolute mixed difference `x[i,j] − x[i+1,j] − x[i,j+1] +
/// x[i+1,j+1]` over the image's 2×2 blocks at even positions. It is 0 on any smooth ramp or edge
/// along a row or column and largest for a pixel-level checkerboard, the artefact of strided
/// transposed convolutions (Odena et al., 2016); read it against the targets' value.
pub fn checkerboard(images: &Tensor) -> Result<f64> {
    let x = unit_2x2(images, "checkerboard")?;
    let (h, w) = (x.size()[2] / 2 * 2, x.size()[3] / 2 * 2);
    let x = x.narrow(2, 0, h).narrow(3, 0, w);
    let at = |dy: i64, dx: i64| x.slice(2, dy, h, 2).slice(3, dx, w, 2);
    let mixed = at(0, 0) - at(1, 0) - at(0, 1) + at(1, 1);
    Ok(mixed.abs().mean(Kind::Double).double_value(&[]))
}

/// Luminance (ITU-R BT.601) of images on the [0, 1] scale, `[N, 1, H, W]`; grey images as they are.
fn luminance(x: &Tensor) -> Tensor {
    match x.size()[1] {
        3 => {
            let w = Tensor::from_slice(&[0.299f64, 0.587, 0.114])
                .to_device(x.device())
                .view([1, 3, 1, 1]);
            (x * w).sum_dim_intlist(1, true, Kind::Double)
        }
        _ => x.mean_dim(1, true, Kind::Double),
    }
}

/// Central differences across and down of `[N, C, H, W]`, on the inner `H − 2 × W − 2` pixels.
fn gradients(x: &Tensor) -> (Tensor, Tensor) {
    let (h, w) = (x.size()[2], x.size()[3]);
    let inner = |t: Tensor, dim: i64| t.narrow(dim, 1, if dim == 2 { h - 2 } else { w - 2 });
    let gx = (x.narrow(3, 2, w - 2) - x.narrow(3, 0, w - 2)) / 2.0;
    let gy = (x.narrow(2, 2, h - 2) - x.narrow(2, 0, h - 2)) / 2.0;
    (inner(gx, 2), inner(gy, 3))
}

/// The targets on the outputs' device, once both are checked to be one shape of at least 3×3.
fn paired_3x3(outputs: &Tensor, targets: &Tensor, what: &str) -> Result<Tensor> {
    check(outputs, targets)?;
    ensure!(
        outputs.size()[2] >= 3 && outputs.size()[3] >= 3,
        "{what} needs images of at least 3×3, got {:?}",
        outputs.size()
    );
    Ok(targets.to_device(outputs.device()))
}

/// A target pixel is on an edge where its luminance changes by at least this much per pixel
/// (a step of 0.2 on the [0, 1] scale, such as an outline on a fill).
const EDGE: f64 = 0.1;

/// A target pixel is flat where no channel changes by more than this per pixel within two
/// pixels of it.
const FLAT: f64 = 0.02;

/// Edge contrast, measured where the targets have edges: the outputs' luminance gradient along
/// each target edge's normal (the projection `∇O · ∇T / |∇T|`), averaged over the target's edge
/// pixels, and beside it the targets' own gradient there (`|∇T|`). A blurred output has less
/// contrast at the edge; an edge in the wrong place has little; noise, whose gradient points
/// every way, adds nothing on average (unlike [`sharpness`], which any noise raises). Outputs
/// as crisp as the targets and in place score the targets' value.
pub fn edge_contrast(outputs: &Tensor, targets: &Tensor) -> Result<(f64, f64)> {
    let targets = paired_3x3(outputs, targets, "edge_contrast")?;
    let (ox, oy) = gradients(&luminance(&to_unit(outputs)));
    let (tx, ty) = gradients(&luminance(&to_unit(&targets)));
    let magnitude = (&tx * &tx + &ty * &ty).sqrt();
    let edges = magnitude.ge(EDGE).to_kind(Kind::Double);
    let count = edges.sum(Kind::Double).double_value(&[]);
    ensure!(
        count > 0.0,
        "the targets have no edge (no luminance step of {} or more per pixel): edge contrast \
         needs targets with outlines",
        2.0 * EDGE
    );
    let along = (ox * &tx + oy * &ty) / magnitude.clamp_min(1e-12);
    let mean_at_edges = |t: &Tensor| (t * &edges).sum(Kind::Double).double_value(&[]) / count;
    Ok((mean_at_edges(&along), mean_at_edges(&magnitude)))
}

/// Colour noise in flat regions: where the targets are flat (no channel changes by more than 0.02
/// per pixel within two pixels), the mean absolute difference of each output pixel from the
/// mean of its 3×3 neighbourhood, per channel; beside it the targets' own value there (near 0).
/// Speckle raises it; blur does not, since a flat region stays flat when blurred. Read it with
/// [`edge_contrast`]: crisp edges and clean fills both, as the targets have them.
pub fn flat_noise(outputs: &Tensor, targets: &Tensor) -> Result<(f64, f64)> {
    let fills = Fills::of(outputs, targets, "flat_noise")?;
    let flat = fills.flat_within(2);
    let count = flat.sum(Kind::Double).double_value(&[]);
    ensure!(
        count > 0.0,
        "the targets have no flat region: flat_noise needs targets with plain fills"
    );
    let mean_at_flat = |r: &Tensor| (r * &flat).sum(Kind::Double).double_value(&[]) / count;
    Ok((
        mean_at_flat(&fills.outputs_residual),
        mean_at_flat(&residual(&fills.targets)),
    ))
}

/// A fleck: an output pixel off the mean of its 3×3 neighbourhood by this much or more (2 grey
/// levels of 255, on the [0, 1] scale), in [`flat_noise_by_distance`].
pub const FLECK: f64 = 2.0 / 255.0;

/// [`flat_noise`] in one band of distances from the targets' nearest change.
#[derive(Debug, Clone, PartialEq)]
pub struct FlatBand {
    /// The band's nearest and farthest distance in pixels (`None`: no limit).
    pub from: i64,
    pub to: Option<i64>,
    /// How many flat target pixels lie in the band (over every image).
    pub pixels: f64,
    /// The outputs' flat noise there.
    pub noise: f64,
    /// The share of those pixels that are [`FLECK`]s.
    pub flecks: f64,
}

impl std::fmt::Display for FlatBand {
    /// `3–4 px 0.00166 (flecks 3.7 %)`; the last band `9+ px …`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.to {
            Some(to) => write!(f, "{}–{to} px", self.from)?,
            None => write!(f, "{}+ px", self.from)?,
        }
        write!(
            f,
            " {:.5} (flecks {:.1} %)",
            self.noise,
            100.0 * self.flecks
        )
    }
}

/// [`flat_noise`] split by how far each flat target pixel lies from the nearest change in the
/// target: 3–4 pixels, 5–8 pixels and farther (the measure's flat pixels are at least 3 away).
/// Noise that clings to outlines and shading lands in the first band; speckle spread across
/// the fills shows in the last as well. The bands' noise, weighted by their pixels, is
/// [`flat_noise`]. Bands without a pixel are left out.
pub fn flat_noise_by_distance(outputs: &Tensor, targets: &Tensor) -> Result<Vec<FlatBand>> {
    let fills = Fills::of(outputs, targets, "flat_noise_by_distance")?;
    let within = [2, 4, 8].map(|r| fills.flat_within(r));
    let masks = [
        (3, Some(4), &within[0] - &within[1]),
        (5, Some(8), &within[1] - &within[2]),
        (9, None, within[2].shallow_clone()),
    ];
    let r = &fills.outputs_residual;
    let flecks = r.ge(FLECK).to_kind(Kind::Double);
    Ok(masks
        .into_iter()
        .filter_map(|(from, to, mask)| {
            let pixels = mask.sum(Kind::Double).double_value(&[]);
            let sum = |t: &Tensor| (t * &mask).sum(Kind::Double).double_value(&[]);
            (pixels > 0.0).then(|| FlatBand {
                from,
                to,
                pixels,
                noise: sum(r) / pixels,
                flecks: sum(&flecks) / pixels,
            })
        })
        .collect())
}

/// What the flat-noise scores share: the targets' largest change per pixel and the outputs'
/// [`residual`], on the 3×3 interior.
struct Fills {
    /// The largest change of any channel of the target, per pixel: `[N, 1, H − 2, W − 2]`.
    change: Tensor,
    outputs_residual: Tensor,
    /// The targets on the [0, 1] scale.
    targets: Tensor,
}

/// Each pixel's mean absolute distance (over the channels) from the mean of its 3×3
/// neighbourhood, on the 3×3 interior: `[N, 1, H − 2, W − 2]`.
fn residual(x: &Tensor) -> Tensor {
    let (h, w) = (x.size()[2], x.size()[3]);
    let local = x.avg_pool2d([3, 3], [1, 1], [0, 0], false, true, None::<i64>);
    (x.narrow(2, 1, h - 2).narrow(3, 1, w - 2) - local)
        .abs()
        .mean_dim(1, true, Kind::Double)
}

impl Fills {
    fn of(outputs: &Tensor, targets: &Tensor, what: &str) -> Result<Fills> {
        let targets = paired_3x3(outputs, targets, what)?;
        let (o, t) = (to_unit(outputs), to_unit(&targets));
        let (tx, ty) = gradients(&t);
        Ok(Fills {
            change: tx.abs().maximum(&ty.abs()).amax([1], true),
            outputs_residual: residual(&o),
            targets: t,
        })
    }

    /// 1 where no pixel within `radius` pixels of this one changes by more than [`FLAT`].
    fn flat_within(&self, radius: i64) -> Tensor {
        let k = 2 * radius + 1;
        let near = self
            .change
            .max_pool2d([k, k], [1, 1], [radius, radius], [1, 1], false);
        near.le(FLAT).to_kind(Kind::Double)
    }
}

/// Every score of a translation model on held-out pairs: pixel scores against the targets, and
/// texture scores of the outputs beside the targets' own.
#[derive(Debug, Clone, PartialEq)]
pub struct TranslationScores {
    pub l1: f64,
    pub psnr: f64,
    pub ssim: f64,
    /// Fréchet distance between the outputs' and the targets' classifier features (`None`
    /// without a classifier).
    pub fd: Option<f64>,
    /// [`sharpness`] of the outputs and of the targets.
    pub sharpness: (f64, f64),
    /// [`saturation`] of the outputs and of the targets.
    pub saturation: (f64, f64),
    /// [`checkerboard`] of the outputs and of the targets.
    pub checkerboard: (f64, f64),
    /// [`edge_contrast`] of the outputs and of the targets, at the targets' edges.
    pub edges: (f64, f64),
    /// [`flat_noise`] of the outputs and of the targets, in the targets' flat regions.
    pub flat_noise: (f64, f64),
}

/// Scores `outputs` against `targets` (both `[N, C, H, W]` in [−1, 1]); with a classifier for
/// the target domain (for emoji, [`super::classifier::emoji`]), also their Fréchet distance
/// (pictures smaller than the classifier's upsampled, [`super::Classifier::fit`]).
pub fn translation_scores(
    outputs: &Tensor,
    targets: &Tensor,
    classifier: Option<&super::Classifier>,
) -> Result<TranslationScores> {
    check(outputs, targets)?;
    let targets = targets.to_device(outputs.device());
    let fd = match classifier {
        Some(c) => Some(super::frechet_distance(
            &c.features(&c.fit(outputs.shallow_clone()))?,
            &c.features(&c.fit(targets.shallow_clone()))?,
        )?),
        None => None,
    };
    Ok(TranslationScores {
        l1: l1(outputs, &targets)?,
        psnr: psnr(outputs, &targets)?,
        ssim: ssim(outputs, &targets)?,
        fd,
        sharpness: (sharpness(outputs)?, sharpness(&targets)?),
        saturation: (saturation(outputs)?, saturation(&targets)?),
        checkerboard: (checkerboard(outputs)?, checkerboard(&targets)?),
        // Targets without edges or flat fills (noise) have no such score.
        edges: edge_contrast(outputs, &targets).unwrap_or((f64::NAN, f64::NAN)),
        flat_noise: flat_noise(outputs, &targets).unwrap_or((f64::NAN, f64::NAN)),
    })
}

impl std::fmt::Display for TranslationScores {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "L1 {:.4}, PSNR {:.2} dB, SSIM {:.3}",
            self.l1, self.psnr, self.ssim
        )?;
        if let Some(fd) = self.fd {
            write!(f, ", FD {fd:.2}")?;
        }
        write!(
            f,
            " | sharpness {:.4} (targets {:.4}), saturation {:.3} ({:.3}), checkerboard {:.4} ({:.4})",
            self.sharpness.0,
            self.sharpness.1,
            self.saturation.0,
            self.saturation.1,
            self.checkerboard.0,
            self.checkerboard.1
        )?;
        write!(
            f,
            ", edge contrast {:.4} ({:.4}), flat noise {:.5} ({:.5})",
            self.edges.0, self.edges.1, self.flat_noise.0, self.flat_noise.1
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::Device;

    #[test]
    fn identical_images_score_perfectly() {
        let x = Tensor::rand([3, 3, 32, 32], (Kind::Float, Device::Cpu)) * 2.0 - 1.0;
        assert!((ssim(&x, &x).unwrap() - 1.0).abs() < 1e-12);
        assert_eq!(l1(&x, &x).unwrap(), 0.0);
        assert!(psnr(&x, &x).unwrap().is_infinite());
    }

    #[test]
    fn psnr_and_l1_match_values_by_hand() {
        // Targets all black (−1 → 0); outputs all at −0.8 → 0.1 on the [0, 1] scale.
        // MSE = 0.01, so PSNR = 10·log10(1 / 0.01) = 20 dB; L1 = 0.1.
        let cpu = (Kind::Float, Device::Cpu);
        let targets = Tensor::full([2, 1, 16, 16], -1.0, cpu);
        let outputs = Tensor::full([2, 1, 16, 16], -0.8, cpu);
        assert!((psnr(&outputs, &targets).unwrap() - 20.0).abs() < 1e-5);
        assert!((l1(&outputs, &targets).unwrap() - 0.1).abs() < 1e-6);
    }

    /// Blur lowers sharpness, a pixel checkerboard has far more checkerboard energy than a
    /// smooth ramp (which has none), and grey has no saturation while pure red has 1.
    #[test]
    fn texture_scores_by_hand() {
        let cpu = (Kind::Float, Device::Cpu);
        tch::manual_seed(0);
        let x = Tensor::rand([2, 3, 32, 32], cpu) * 2.0 - 1.0;
        let blurred = x.avg_pool2d([3, 3], [1, 1], [1, 1], false, true, None::<i64>);
        assert!(sharpness(&blurred).unwrap() < 0.5 * sharpness(&x).unwrap());
        let ramp = (Tensor::arange(32, cpu) / 16.0 - 1.0)
            .view([1, 1, 1, 32])
            .repeat([1, 1, 32, 1]);
        assert!(checkerboard(&ramp).unwrap() < 1e-9);
        let i = Tensor::arange(32, (Kind::Int64, Device::Cpu));
        let board = ((i.view([32, 1]) + i.view([1, 32])).remainder(2) * 2 - 1)
            .to_kind(Kind::Float)
            .view([1, 1, 32, 32]);
        // Every 2×2 block is (1, −1; −1, 1) on the [0, 1] scale: |1 − 0 − 0 + 1| = 2.
        assert!((checkerboard(&board).unwrap() - 2.0).abs() < 1e-9);
        let grey = Tensor::zeros([1, 3, 4, 4], cpu);
        assert_eq!(saturation(&grey).unwrap(), 0.0);
        let red = Tensor::cat(
            &[
                Tensor::ones([1, 1, 4, 4], cpu),
                -Tensor::ones([1, 2, 4, 4], cpu),
            ],
            1,
        );
        assert!((saturation(&red).unwrap() - 1.0).abs() < 1e-9);
        let s = translation_scores(&x, &x, None).unwrap();
        assert_eq!(s.sharpness.0, s.sharpness.1);
        assert!(s.to_string().contains("checkerboard"), "{s}");
    }

    /// A filled disc with a dark outline on white, `[n, 3, 32, 32]` in [−1, 1].
    fn discs(n: i64) -> Tensor {
        let cpu = (Kind::Float, Device::Cpu);
        let i = Tensor::arange(32, cpu) - 15.5;
        let r = (i.view([32, 1]).square() + i.view([1, 32]).square()).sqrt();
        let inside: Tensor = r.le(10.0).to_kind(Kind::Float);
        let outline: Tensor = r.le(12.0).to_kind(Kind::Float) - &inside;
        let fill = Tensor::from_slice(&[1.0f32, 0.8, -0.6]).view([3, 1, 1]);
        let background: Tensor = 1.0 - &inside - &outline;
        let picture: Tensor = background + fill * &inside - &outline;
        picture.unsqueeze(0).repeat([n, 1, 1, 1])
    }

    /// Edge contrast falls with blur and with an edge out of place, but not with noise; flat
    /// noise rises with noise, not with blur.
    #[test]
    fn edge_contrast_and_flat_noise_tell_blur_from_speckle() {
        tch::manual_seed(0);
        let targets = discs(4);
        let blurred = targets.avg_pool2d([3, 3], [1, 1], [1, 1], false, false, None::<i64>);
        let speckled = (&targets + Tensor::randn(targets.size(), (Kind::Float, Device::Cpu)) * 0.2)
            .clamp(-1.0, 1.0);
        let shifted = targets.roll([3], [3]);
        let (same, own) = edge_contrast(&targets, &targets).unwrap();
        assert!((same - own).abs() < 1e-9 && own > 0.2, "{same} {own}");
        let (blur, _) = edge_contrast(&blurred, &targets).unwrap();
        let (noise, _) = edge_contrast(&speckled, &targets).unwrap();
        let (moved, _) = edge_contrast(&shifted, &targets).unwrap();
        assert!(
            blur < 0.8 * own && moved < 0.5 * own,
            "{blur} {moved} {own}"
        );
        assert!((noise - own).abs() < 0.15 * own, "{noise} {own}");
        let (clean, own_noise) = flat_noise(&targets, &targets).unwrap();
        assert!(clean < 1e-9 && own_noise < 1e-9);
        let (blur_noise, _) = flat_noise(&blurred, &targets).unwrap();
        let (speckle_noise, _) = flat_noise(&speckled, &targets).unwrap();
        assert!(
            blur_noise < 1e-3 && speckle_noise > 0.05,
            "{blur_noise} {speckle_noise}"
        );
        let s = translation_scores(&blurred, &targets, None).unwrap();
        assert!(s.to_string().contains("edge contrast"), "{s}");
    }

    /// Noise beside an outline lands in the nearest band, noise far from it in the farthest,
    /// and the bands weighted by their pixels give `flat_noise`.
    #[test]
    fn flat_noise_by_distance_finds_where_the_noise_is() {
        tch::manual_seed(0);
        let cpu = (Kind::Float, Device::Cpu);
        // A grey square, 64 pixels wide, with a dark bar in its middle (columns 30–33): its
        // flat pixels lie from 3 to far more than 8 pixels from the bar's edges.
        let target = Tensor::zeros([1, 3, 64, 64], cpu);
        let _ = target.narrow(3, 30, 4).fill_(-1.0);
        let band = |a: i64, b: i64| {
            let m = Tensor::zeros([1, 1, 64, 64], cpu);
            let _ = m.narrow(3, a, b - a).fill_(1.0);
            m
        };
        let noise = Tensor::randn([1, 3, 64, 64], cpu) * 0.1;
        // Noise 3–4 pixels right of the bar's edge (the change at column 34: columns 37–38),
        // or far right of it (54–60).
        let near = (&target + &noise * band(37, 39)).clamp(-1.0, 1.0);
        let far = (&target + &noise * band(54, 61)).clamp(-1.0, 1.0);
        for (output, noisy_band) in [(&near, 0), (&far, 2)] {
            let bands = flat_noise_by_distance(output, &target).unwrap();
            assert_eq!(bands.len(), 3, "{bands:?}");
            assert_eq!((bands[0].from, bands[2].to), (3, None));
            let noisy = &bands[noisy_band];
            assert!(noisy.noise > 0.005 && noisy.flecks > 0.1, "{noisy:?}");
            for (i, b) in bands.iter().enumerate() {
                if i != noisy_band {
                    assert!(b.noise < 0.1 * noisy.noise, "{i}: {b:?} against {noisy:?}");
                }
            }
            let pixels: f64 = bands.iter().map(|b| b.pixels).sum();
            let weighted: f64 = bands.iter().map(|b| b.noise * b.pixels).sum::<f64>() / pixels;
            let (whole, _) = flat_noise(output, &target).unwrap();
            assert!((weighted - whole).abs() < 1e-12, "{weighted} {whole}");
        }
        let clean = flat_noise_by_distance(&target, &target).unwrap();
        assert!(clean.iter().all(|b| b.noise == 0.0 && b.flecks == 0.0));
        assert_eq!(clean[0].to_string(), "3–4 px 0.00000 (flecks 0.0 %)");
        assert!(clean[2].to_string().starts_with("9+ px"), "{}", clean[2]);
    }

    #[test]
    fn ssim_falls_with_noise_and_rejects_bad_shapes() {
        let cpu = (Kind::Float, Device::Cpu);
        tch::manual_seed(0);
        let x = Tensor::rand([2, 1, 32, 32], cpu) * 2.0 - 1.0;
        let slightly = (&x + Tensor::randn([2, 1, 32, 32], cpu) * 0.05).clamp(-1.0, 1.0);
        let very = (&x + Tensor::randn([2, 1, 32, 32], cpu) * 0.5).clamp(-1.0, 1.0);
        let (a, b) = (ssim(&slightly, &x).unwrap(), ssim(&very, &x).unwrap());
        assert!(1.0 > a && a > b && b > 0.0, "{a} {b}");
        let err = ssim(&x, &x.narrow(0, 0, 1)).unwrap_err().to_string();
        assert!(err.contains("one shape"), "{err}");
    }
}
