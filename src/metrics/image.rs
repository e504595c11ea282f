//! Pix2Pix's outputs against their targets, on images in [-1, 1] measured on the [0, 1] scale.
//!
//! - Pixel scores, which reward the blurry average: [`l1`], [`psnr`], [`ssim`].
//! - What the adversarial term is for, each measured on a set of images alone so that outputs
//!   are read beside the targets' own value: [`sharpness`] (high-frequency energy),
//!   [`saturation`] (colour), [`checkerboard`] (the period-2 pattern of transposed convolutions).
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
}

/// Scores `outputs` against `targets` (both `[N, C, H, W]` in [−1, 1]); with a classifier for
/// the target domain (for emoji, [`super::classifier::emoji`]), also their Fréchet distance.
pub fn translation_scores(
    outputs: &Tensor,
    targets: &Tensor,
    classifier: Option<&super::Classifier>,
) -> Result<TranslationScores> {
    check(outputs, targets)?;
    let targets = targets.to_device(outputs.device());
    let fd = match classifier {
        Some(c) => Some(super::frechet_distance(
            &c.features(outputs)?,
            &c.features(&targets)?,
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
