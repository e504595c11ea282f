//! The 2-D testbed for mode collapse: mixtures of Gaussians whose modes you can count.
//!
//! - **ring**: 8 Gaussians evenly spaced on a circle of radius 2, each with σ = 0.02;
//! - **grid**: 25 Gaussians at {−4, −2, 0, 2, 4}², each with σ = 0.05.
//!
//! These are the settings used to show mode collapse since Metz et al., *Unrolled GANs* (2016)
//! and Srivastava et al., *VEEGAN* (2017). A generator is judged with the two standard measures:
//! - **modes covered**: a mode counts when at least one sample lies within 3σ of its centre;
//! - **high-quality share**: the fraction of samples within 3σ of *some* centre.
//!
//! A collapsed generator scores 1 mode with a high share; a blurry one covers many modes with
//! a low share; a good one covers all of them with a share near 1 (a true sample lies within 3σ
//! of its centre with probability 1 − e^{−9/2} ≈ 0.989 in 2-D).

use anyhow::Result;
use tch::{Device, Kind, Tensor};

/// Which mixture.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Toy2dKind {
    /// 8 modes on a circle of radius 2, σ = 0.02.
    Ring,
    /// 25 modes on a 5×5 grid with spacing 2, σ = 0.05.
    Grid,
}

/// A mixture of equal-weight isotropic Gaussians in the plane.
#[derive(Debug)]
pub struct Toy2d {
    pub kind: Toy2dKind,
    /// `[K, 2]` mode centres, on the device.
    pub centres: Tensor,
    /// Standard deviation of every mode.
    pub sigma: f64,
}

/// The standard measures of a batch of 2-D samples against the true modes.
#[derive(Debug, Clone, PartialEq)]
pub struct ModeReport {
    /// Modes with at least one sample within 3σ.
    pub modes_covered: usize,
    /// Number of modes of the mixture.
    pub modes_total: usize,
    /// Fraction of samples within 3σ of some centre.
    pub high_quality: f64,
    /// Samples within 3σ of each centre.
    pub per_mode: Vec<i64>,
}

impl std::fmt::Display for ModeReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}/{} modes covered, {:.1} % high-quality samples",
            self.modes_covered,
            self.modes_total,
            100.0 * self.high_quality
        )
    }
}

impl Toy2d {
    /// The mixture, with its centres on `device`.
    pub fn new(kind: Toy2dKind, device: Device) -> Self {
        let (points, sigma): (Vec<f32>, f64) = match kind {
            Toy2dKind::Ring => (
                (0..8)
                    .flat_map(|k| {
                        let angle = 2.0 * std::f32::consts::PI * k as f32 / 8.0;
                        [2.0 * angle.cos(), 2.0 * angle.sin()]
                    })
                    .collect(),
                0.02,
            ),
            Toy2dKind::Grid => (
                (0..25)
                    .flat_map(|k| [(k / 5) as f32 * 2.0 - 4.0, (k % 5) as f32 * 2.0 - 4.0])
                    .collect(),
                0.05,
            ),
        };
        let k = points.len() as i64 / 2;
        Toy2d {
            kind,
            centres: Tensor::from_slice(&points).view([k, 2]).to_device(device),
            sigma,
        }
    }

    /// Number of modes.
    pub fn modes(&self) -> usize {
        self.centres.size()[0] as usize
    }

    /// `n` samples `[n, 2]`, drawn on the device with libtorch's generator (seed it with
    /// [`crate::seed`]): a uniformly chosen centre plus N(0, σ²I) noise.
    pub fn sample(&self, n: usize) -> Tensor {
        let options = (Kind::Int64, self.centres.device());
        let which = Tensor::randint(self.modes() as i64, [n as i64], options);
        self.centres.index_select(0, &which)
            + Tensor::randn([n as i64, 2], (Kind::Float, self.centres.device())) * self.sigma
    }

    /// Modes covered and high-quality share of `samples` (`[n, 2]`).
    ///
    /// ```
    /// use gans::prelude::*;
    /// let ring = Toy2d::new(Toy2dKind::Ring, Device::Cpu);
    /// // One sample exactly on each centre, and one far away at the origin.
    /// let samples = Tensor::cat(&[ring.centres.shallow_clone(), Tensor::zeros([1, 2], (Kind::Float, Device::Cpu))], 0);
    /// let report = ring.report(&samples)?;
    /// assert_eq!(report.to_string(), "8/8 modes covered, 88.9 % high-quality samples");
    /// assert_eq!(report.per_mode, vec![1; 8]);
    /// # Ok::<(), anyhow::Error>(())
    /// ```
    pub fn report(&self, samples: &Tensor) -> Result<ModeReport> {
        let size = samples.size();
        anyhow::ensure!(
            size.len() == 2 && size[1] == 2,
            "samples must be [n, 2], got {size:?}"
        );
        anyhow::ensure!(size[0] > 0, "no samples to measure");
        let samples = samples
            .detach()
            .to_device(self.centres.device())
            .to_kind(Kind::Float);
        // [n, K] distances from every sample to every centre.
        let distance = Tensor::cdist(&samples, &self.centres, 2.0, None::<i64>);
        let close = distance.le(3.0 * self.sigma);
        let per_mode = Vec::<i64>::try_from(close.sum_dim_intlist(0, false, Kind::Int64))?;
        let high_quality = close
            .any_dim(1, false)
            .to_kind(Kind::Float)
            .mean(Kind::Float)
            .double_value(&[]);
        Ok(ModeReport {
            modes_covered: per_mode.iter().filter(|&&c| c > 0).count(),
            modes_total: self.modes(),
            high_quality,
            per_mode,
        })
    }
}

impl Toy2d {
    /// A scatter chart of `samples` (`[n, 2]`) over the true modes (larger dots), with the
    /// mode report in the title.
    pub fn chart(&self, samples: &Tensor, title: &str) -> Result<crate::viz::LineChart> {
        let report = self.report(samples)?;
        Ok(crate::viz::LineChart::new(format!("{title}: {report}"))
            .axes("x", "y")
            .size(560, 520)
            .points("samples", xy_points(samples)?, 2)
            .points("true modes", xy_points(&self.centres)?, 5))
    }
}

/// The rows of a `[n, 2]` tensor as (x, y) pairs, copied to the CPU.
pub fn xy_points(points: &Tensor) -> Result<Vec<(f64, f64)>> {
    let size = points.size();
    anyhow::ensure!(
        size.len() == 2 && size[1] == 2,
        "points must be [n, 2], got {size:?}"
    );
    let flat = Vec::<f64>::try_from(
        points
            .detach()
            .to_device(Device::Cpu)
            .to_kind(Kind::Double)
            .reshape([-1]),
    )?;
    Ok(flat.chunks_exact(2).map(|p| (p[0], p[1])).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn true_samples_cover_everything() {
        for kind in [Toy2dKind::Ring, Toy2dKind::Grid] {
            tch::manual_seed(0);
            let toy = Toy2d::new(kind, Device::Cpu);
            let report = toy.report(&toy.sample(5000)).unwrap();
            assert_eq!(report.modes_covered, toy.modes(), "{kind:?}: {report}");
            // 1 - exp(-4.5) = 0.989 of true samples fall within 3σ.
            assert!(
                (report.high_quality - 0.989).abs() < 0.01,
                "{kind:?}: {report}"
            );
        }
    }

    #[test]
    fn collapse_and_blur_are_told_apart() {
        let toy = Toy2d::new(Toy2dKind::Ring, Device::Cpu);
        // Every sample on one centre: 1 mode, all high quality.
        let collapsed = toy.centres.get(3).unsqueeze(0).repeat([100, 1]);
        let report = toy.report(&collapsed).unwrap();
        assert_eq!((report.modes_covered, report.high_quality), (1, 1.0));
        assert_eq!(report.per_mode[3], 100);
        // Samples at the origin, far from the ring: nothing.
        let report = toy
            .report(&Tensor::zeros([50, 2], (Kind::Float, Device::Cpu)))
            .unwrap();
        assert_eq!((report.modes_covered, report.high_quality), (0, 0.0));
        assert!(
            toy.report(&Tensor::zeros([5, 3], (Kind::Float, Device::Cpu)))
                .is_err()
        );
    }

    #[test]
    fn chart_shows_samples_and_modes() {
        let toy = Toy2d::new(Toy2dKind::Ring, Device::Cpu);
        let samples = toy.centres.get(0).unsqueeze(0).repeat([3, 1]);
        let svg = toy.chart(&samples, "collapsed").unwrap().to_svg().unwrap();
        assert!(
            svg.contains("collapsed: 1/8 modes covered"),
            "title carries the report"
        );
        assert_eq!(
            svg.matches("<circle").count(),
            3 + 8,
            "3 samples and 8 modes"
        );
    }

    #[test]
    fn grid_corners_are_where_the_papers_put_them() {
        let toy = Toy2d::new(Toy2dKind::Grid, Device::Cpu);
        assert_eq!(
            Vec::<f32>::try_from(toy.centres.get(0)).unwrap(),
            vec![-4.0, -4.0]
        );
        assert_eq!(
            Vec::<f32>::try_from(toy.centres.get(24)).unwrap(),
            vec![4.0, 4.0]
        );
        assert_eq!(toy.sigma, 0.05);
    }
}
