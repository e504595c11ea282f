//! Pixel-level comparison of outputs with targets (Pix2Pix): L1, PSNR and SSIM, on images in
//! [-1, 1] measured on the [0, 1] scale.

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
