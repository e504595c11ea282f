//! Distances between two sets of feature vectors: the Fréchet distance (FID's formula) and the
//! kernel inception distance (KID's formula), both on whatever features they are given.

use anyhow::{Result, ensure};
use rand::SeedableRng;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use tch::{Kind, Tensor};

/// Mean `[D]` and covariance `[D, D]` of features `[N, D]`, in float64.
pub fn moments(features: &Tensor) -> Result<(Tensor, Tensor)> {
    ensure!(
        features.dim() == 2 && features.size()[0] >= 2,
        "features must be [N, D] with N ≥ 2, got {:?}",
        features.size()
    );
    let x = features.to_kind(Kind::Double);
    let n = x.size()[0] as f64;
    let mean = x.mean_dim(0, false, Kind::Double);
    let centred = &x - mean.unsqueeze(0);
    let cov = centred.transpose(0, 1).matmul(&centred) / (n - 1.0);
    Ok((mean, cov))
}

/// `tr(√M)` of a symmetric positive semi-definite `M`: the sum of the square roots of its
/// eigenvalues (negative ones, rounding noise, count as 0).
fn trace_sqrt_psd(m: &Tensor) -> f64 {
    let symmetric = (m + m.transpose(0, 1)) / 2.0;
    symmetric
        .linalg_eigvalsh("L")
        .clamp_min(0.0)
        .sqrt()
        .sum(Kind::Double)
        .double_value(&[])
}

/// The Fréchet distance between `N(μ₁, Σ₁)` and `N(μ₂, Σ₂)`:
/// `‖μ₁ − μ₂‖² + tr Σ₁ + tr Σ₂ − 2 tr √(Σ₁^½ Σ₂ Σ₁^½)`.
///
/// The matrix square root is taken of the symmetric matrix `Σ₁^½ Σ₂ Σ₁^½` (which has the same
/// trace-of-root as `Σ₁Σ₂`) through eigendecompositions, on the tensors' device: no
/// non-symmetric square root, so no complex round-off to discard.
pub fn frechet_from_moments(
    (mean1, cov1): (&Tensor, &Tensor),
    (mean2, cov2): (&Tensor, &Tensor),
) -> f64 {
    let (values, vectors) = ((cov1 + cov1.transpose(0, 1)) / 2.0).linalg_eigh("L");
    let root1 = vectors
        .matmul(&values.clamp_min(0.0).sqrt().diag_embed(0, -2, -1))
        .matmul(&vectors.transpose(0, 1));
    let middle = root1.matmul(cov2).matmul(&root1);
    let diff = (mean1 - mean2).square().sum(Kind::Double).double_value(&[]);
    let traces = cov1.trace().double_value(&[]) + cov2.trace().double_value(&[]);
    (diff + traces - 2.0 * trace_sqrt_psd(&middle)).max(0.0)
}

/// The Fréchet distance between two feature sets `[N, D]` and `[M, D]` (FID's formula).
pub fn frechet_distance(a: &Tensor, b: &Tensor) -> Result<f64> {
    ensure!(
        a.size().get(1) == b.size().get(1),
        "feature sets of different widths: {:?} and {:?}",
        a.size(),
        b.size()
    );
    let (m1, c1) = moments(a)?;
    let (m2, c2) = moments(&b.to_device(a.device()))?;
    Ok(frechet_from_moments((&m1, &c1), (&m2, &c2)))
}

/// KID: an unbiased estimate of MMD² with the cubic polynomial kernel, over random subsets.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Kid {
    pub mean: f64,
    /// Standard deviation over the subsets.
    pub std: f64,
}

impl std::fmt::Display for Kid {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:.4} ± {:.4}", self.mean, self.std)
    }
}

/// Unbiased MMD² between `x` `[m, D]` and `y` `[m, D]` with `k(a, b) = (a·b / D + 1)³`.
pub fn mmd2_unbiased(x: &Tensor, y: &Tensor) -> f64 {
    let d = x.size()[1] as f64;
    let m = x.size()[0] as f64;
    let kernel =
        |a: &Tensor, b: &Tensor| (a.matmul(&b.transpose(0, 1)) / d + 1.0).pow_tensor_scalar(3);
    let (kxx, kyy, kxy) = (kernel(x, x), kernel(y, y), kernel(x, y));
    let off_diagonal =
        |k: &Tensor| (k.sum(Kind::Double) - k.trace()).double_value(&[]) / (m * (m - 1.0));
    off_diagonal(&kxx) + off_diagonal(&kyy)
        - 2.0 * kxy.sum(Kind::Double).double_value(&[]) / (m * m)
}

/// KID between feature sets `a` and `b`: `subsets` random subsets of `subset_size` rows from
/// each (without replacement inside a subset), drawn from `seed`.
pub fn kid(a: &Tensor, b: &Tensor, subsets: usize, subset_size: usize, seed: u64) -> Result<Kid> {
    ensure!(
        a.dim() == 2 && b.dim() == 2 && a.size()[1] == b.size()[1],
        "KID compares two sets of feature vectors of one width, [n, d] and [m, d]; got {:?} and {:?}",
        a.size(),
        b.size()
    );
    let (na, nb) = (a.size()[0] as usize, b.size()[0] as usize);
    let m = subset_size.min(na).min(nb);
    ensure!(
        m >= 2,
        "KID needs at least 2 samples in each set, got {na} and {nb}"
    );
    ensure!(subsets >= 1, "KID needs at least one subset");
    let (a, b) = (
        a.to_kind(Kind::Double),
        b.to_kind(Kind::Double).to_device(a.device()),
    );
    let mut rng = StdRng::seed_from_u64(seed);
    let mut pick = |n: usize| {
        let mut index: Vec<i64> = (0..n as i64).collect();
        index.shuffle(&mut rng);
        Tensor::from_slice(&index[..m]).to_device(a.device())
    };
    let values: Vec<f64> = (0..subsets)
        .map(|_| {
            let (ia, ib) = (pick(na), pick(nb));
            mmd2_unbiased(&a.index_select(0, &ia), &b.index_select(0, &ib))
        })
        .collect();
    let mean = values.iter().sum::<f64>() / values.len() as f64;
    let var = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>()
        / values.len().max(2).saturating_sub(1) as f64;
    Ok(Kid {
        mean,
        std: var.sqrt(),
    })
}

/// Euclidean distances between the rows of `a` `[n, d]` and of `b` `[m, d]`: `[n, m]`.
fn distances(a: &Tensor, b: &Tensor) -> Tensor {
    let (aa, bb) = (
        a.square().sum_dim_intlist(1, true, Kind::Double),
        b.square()
            .sum_dim_intlist(1, false, Kind::Double)
            .unsqueeze(0),
    );
    (aa + bb - a.matmul(&b.transpose(0, 1)) * 2.0)
        .clamp_min(0.0)
        .sqrt()
}

/// Which of `points` `[n, d]` lie inside the manifold of `reference` `[m, d]` as Kynkäänniemi
/// et al. (2019) estimate it: the union of balls around each reference point, each reaching to
/// that point's `k`-th nearest reference neighbour. `[n]` booleans.
pub fn inside_manifold(points: &Tensor, reference: &Tensor, k: i64) -> Result<Tensor> {
    ensure!(
        points.dim() == 2 && reference.dim() == 2 && points.size()[1] == reference.size()[1],
        "the manifold test compares feature vectors of one width, [n, d] and [m, d]; got {:?} and {:?}",
        points.size(),
        reference.size()
    );
    let m = reference.size()[0];
    ensure!(
        k >= 1 && m > k,
        "the manifold of {m} reference points needs k from 1 to {}, got {k}",
        m - 1
    );
    let (p, r) = (
        points.to_kind(Kind::Double),
        reference.to_kind(Kind::Double).to_device(points.device()),
    );
    // Each reference point's radius: the distance to its k-th nearest other reference point
    // (the sorted row starts with the point itself, at 0).
    let (sorted, _) = distances(&r, &r).sort(1, false);
    let radius = sorted.select(1, k); // [m]
    let inside = distances(&p, &r).le_tensor(&radius.unsqueeze(0)); // [n, m]
    Ok(inside.any_dim(1, false))
}

/// Improved precision and recall (Kynkäänniemi et al., 2019) of `fake` against `real`, both
/// `[n, d]` features: precision is the share of fakes inside the real manifold (samples that
/// look like some real image; blotches fall outside however a classifier files them), recall
/// the share of reals inside the fakes' manifold (how much of the data the samples reach).
pub fn precision_recall(fake: &Tensor, real: &Tensor, k: i64) -> Result<(f64, f64)> {
    Ok((
        share(&inside_manifold(fake, real, k)?),
        share(&inside_manifold(real, fake, k)?),
    ))
}

/// The share of `true` in a boolean mask.
pub(crate) fn share(mask: &Tensor) -> f64 {
    mask.to_kind(Kind::Double)
        .mean(Kind::Double)
        .double_value(&[])
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::Device;

    fn gaussian(n: i64, mean: &[f64], std: &[f64]) -> Tensor {
        let d = mean.len() as i64;
        let (m, s) = (Tensor::from_slice(mean), Tensor::from_slice(std));
        Tensor::randn([n, d], (Kind::Double, Device::Cpu)) * s.unsqueeze(0) + m.unsqueeze(0)
    }

    #[test]
    fn frechet_of_a_set_to_itself_is_zero() {
        tch::manual_seed(0);
        let a = Tensor::randn([500, 16], (Kind::Float, Device::Cpu))
            .matmul(&Tensor::randn([16, 16], (Kind::Float, Device::Cpu)));
        let fd = frechet_distance(&a, &a).unwrap();
        assert!(fd.abs() < 1e-6, "{fd}");
    }

    #[test]
    fn frechet_equals_the_closed_form_on_gaussians() {
        // Exact moments: N(μ₁, diag σ₁²) and N(μ₂, diag σ₂²) are at ‖μ₁ − μ₂‖² + Σ (σ₁ − σ₂)².
        let (m1, m2) = ([0.0, 1.0, -2.0], [1.0, 1.0, 0.0]);
        let (s1, s2) = ([1.0, 2.0, 0.5], [3.0, 1.0, 0.5]);
        let closed = 1.0 + 0.0 + 4.0 + (2.0f64.powi(2) + 1.0 + 0.0);
        let cov = |s: &[f64; 3]| Tensor::from_slice(&s.map(|v| v * v)).diag_embed(0, -2, -1);
        let exact = frechet_from_moments(
            (&Tensor::from_slice(&m1), &cov(&s1)),
            (&Tensor::from_slice(&m2), &cov(&s2)),
        );
        assert!((exact - closed).abs() < 1e-9, "{exact} vs {closed}");
        // A full (non-diagonal) covariance: rotate both by the same orthogonal matrix, which
        // leaves the distance unchanged.
        let (q, _) = Tensor::linalg_qr(
            &Tensor::randn([3, 3], (Kind::Double, Device::Cpu)),
            "reduced",
        );
        let rotate = |c: &Tensor| q.matmul(c).matmul(&q.transpose(0, 1));
        let rotated = frechet_from_moments(
            (&q.matmul(&Tensor::from_slice(&m1)), &rotate(&cov(&s1))),
            (&q.matmul(&Tensor::from_slice(&m2)), &rotate(&cov(&s2))),
        );
        assert!((rotated - closed).abs() < 1e-8, "{rotated} vs {closed}");
        // From 20,000 samples each, the estimate lands near the closed form.
        tch::manual_seed(1);
        let estimate =
            frechet_distance(&gaussian(20_000, &m1, &s1), &gaussian(20_000, &m2, &s2)).unwrap();
        assert!((estimate - closed).abs() < 0.2, "{estimate} vs {closed}");
    }

    #[test]
    fn kid_is_zero_for_one_distribution_and_positive_for_a_shift() {
        tch::manual_seed(2);
        let (a, b) = (
            gaussian(2000, &[0.0; 8], &[1.0; 8]),
            gaussian(2000, &[0.0; 8], &[1.0; 8]),
        );
        let same = kid(&a, &b, 10, 500, 0).unwrap();
        assert!(
            same.mean.abs() < 3.0 * same.std.max(1e-4),
            "same distribution: {same}"
        );
        let shifted = kid(&a, &gaussian(2000, &[0.5; 8], &[1.0; 8]), 10, 500, 0).unwrap();
        assert!(
            shifted.mean > 10.0 * same.std.max(1e-4) && shifted.mean > 0.0,
            "shifted: {shifted} vs {same}"
        );
        println!("KID same: {same}, shifted by 0.5: {shifted}");
    }

    #[test]
    fn mismatched_or_tiny_sets_are_errors() {
        let a = Tensor::zeros([10, 4], (Kind::Float, Device::Cpu));
        assert!(frechet_distance(&a, &Tensor::zeros([10, 5], (Kind::Float, Device::Cpu))).is_err());
        assert!(moments(&a.narrow(0, 0, 1)).is_err());
        assert!(kid(&a.narrow(0, 0, 1), &a, 2, 10, 0).is_err());
    }

    /// Samples drawn from the data's own distribution fall inside its manifold (precision and
    /// recall near 1); samples on a far-off blob lie outside (precision 0), and samples from one
    /// corner of the data reach only part of it (recall well below 1).
    #[test]
    fn precision_and_recall_tell_fidelity_from_coverage() -> Result<()> {
        tch::manual_seed(0);
        let real = gaussian(500, &[0.0, 0.0], &[1.0, 1.0]);
        let same = gaussian(500, &[0.0, 0.0], &[1.0, 1.0]);
        let (p, r) = precision_recall(&same, &real, 3)?;
        assert!(p > 0.9 && r > 0.9, "{p} {r}");
        let far = gaussian(500, &[8.0, 8.0], &[0.1, 0.1]);
        let (p, _) = precision_recall(&far, &real, 3)?;
        assert_eq!(p, 0.0);
        let corner = gaussian(500, &[1.0, 1.0], &[0.2, 0.2]);
        let (p, r) = precision_recall(&corner, &real, 3)?;
        assert!(p > 0.9 && r < 0.3, "{p} {r}");
        // By hand, one point: inside exactly when it is within some ball.
        let reference = Tensor::from_slice(&[0.0f64, 1.0, 3.0, 10.0]).view([4, 1]);
        let points = Tensor::from_slice(&[0.5f64, 6.0, 12.5]).view([3, 1]);
        // k = 1 radii: 1, 1, 2, 7; 0.5 is within 0's ball, 6 within 10's (7), 12.5 too.
        let inside = Vec::<bool>::try_from(inside_manifold(&points, &reference, 1)?)?;
        assert_eq!(inside, [true, true, true]);
        // With 10 moved to 4, every radius is 1: 6 and 12.5 are outside every ball.
        let reference = Tensor::from_slice(&[0.0f64, 1.0, 3.0, 4.0]).view([4, 1]);
        let inside = Vec::<bool>::try_from(inside_manifold(&points, &reference, 1)?)?;
        assert_eq!(inside, [true, false, false]);
        assert!(inside_manifold(&points, &reference, 4).is_err());
        Ok(())
    }
}
