//! Which classes the samples fall into, judged by a classifier.

use anyhow::{Result, ensure};
use tch::{Kind, Tensor};

/// The class histogram of a set of samples and what it says about mode coverage.
#[derive(Debug, Clone, PartialEq)]
pub struct Coverage {
    /// Share of samples predicted as each class (sums to 1).
    pub histogram: Vec<f64>,
    /// KL(histogram ‖ uniform) in nats: 0 when every class is equally common, ln K when one
    /// class takes everything.
    pub kl_to_uniform: f64,
    /// Classes that received less than a tenth of their fair share (`0.1 / K` of the samples).
    pub missing: usize,
    /// `exp E[KL(p(y|x) ‖ p(y))]` (the Inception score's formula with our classifier): from 1
    /// (all samples look alike or all are ambiguous) to K (confident and evenly spread).
    pub classifier_score: f64,
    /// Share of samples the classifier files under one class with probability ≥ 0.9: a
    /// readable-sample count that needs no human (real test digits score about 0.98).
    pub confident: f64,
}

impl std::fmt::Display for Coverage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let k = self.histogram.len();
        write!(
            f,
            "{} of {k} classes present, KL to uniform {:.3}, classifier score {:.2} of {k}, \
             {:.0} % confidently classified",
            k - self.missing,
            self.kl_to_uniform,
            self.classifier_score,
            100.0 * self.confident
        )
    }
}

/// The top class probability from which a sample counts as confidently classified.
pub const CONFIDENT: f64 = 0.9;

/// Which samples the classifier files under one class with p ≥ [`CONFIDENT`]: `[N]` booleans
/// from class probabilities `[N, K]`.
pub fn confident_mask(probabilities: &Tensor) -> Tensor {
    let (top, _) = probabilities.max_dim(1, false);
    top.ge(CONFIDENT)
}

/// Coverage of samples whose class probabilities are `probabilities` `[N, K]`.
pub fn coverage(probabilities: &Tensor) -> Result<Coverage> {
    ensure!(
        probabilities.dim() == 2 && probabilities.size()[0] > 0,
        "probabilities must be [N, K] with N > 0, got {:?}",
        probabilities.size()
    );
    let p = probabilities.to_kind(Kind::Double);
    let k = p.size()[1];
    let predicted = p.argmax(-1, false);
    let counts = predicted.bincount(None::<Tensor>, k).to_kind(Kind::Double);
    let histogram = Vec::<f64>::try_from(&counts / p.size()[0] as f64)?;
    let uniform = 1.0 / k as f64;
    let kl_to_uniform = histogram
        .iter()
        .filter(|&&h| h > 0.0)
        .map(|h| h * (h / uniform).ln())
        .sum();
    let missing = histogram.iter().filter(|&&h| h < 0.1 * uniform).count();
    let eps = 1e-12;
    let marginal = p.mean_dim(0, true, Kind::Double);
    let kl =
        (&p * ((&p + eps).log() - (&marginal + eps).log())).sum_dim_intlist(1, false, Kind::Double);
    let classifier_score = kl.mean(Kind::Double).double_value(&[]).exp();
    let confident = super::distance::share(&confident_mask(&p));
    Ok(Coverage {
        histogram,
        kl_to_uniform,
        missing,
        classifier_score,
        confident,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn confident_even_spread_and_collapse() {
        // 40 samples, 4 classes, each predicted with certainty, 10 per class.
        let even = Tensor::arange(40, (Kind::Int64, tch::Device::Cpu))
            .remainder(4)
            .one_hot(4);
        let c = coverage(&even).unwrap();
        assert_eq!(c.histogram, [0.25; 4]);
        assert!(c.kl_to_uniform.abs() < 1e-12 && c.missing == 0);
        assert!((c.classifier_score - 4.0).abs() < 1e-6, "{c}");
        // Everything in class 2: one class present, KL = ln 4, score 1.
        let collapsed = Tensor::full([40], 2, (Kind::Int64, tch::Device::Cpu)).one_hot(4);
        let c = coverage(&collapsed).unwrap();
        assert_eq!(c.missing, 3);
        assert!((c.kl_to_uniform - 4f64.ln()).abs() < 1e-9);
        assert!((c.classifier_score - 1.0).abs() < 1e-6, "{c}");
        assert_eq!(c.confident, 1.0);
    }

    /// Only samples whose top probability reaches 0.9 count as confident.
    #[test]
    fn confident_share_counts_top_probabilities_of_at_least_0_9() {
        let p = Tensor::from_slice(&[0.95f32, 0.05, 0.5, 0.5, 0.08, 0.92, 0.6, 0.4]).view([4, 2]);
        let c = coverage(&p).unwrap();
        assert!((c.confident - 0.5).abs() < 1e-12, "{c}");
        assert!(c.to_string().contains("50 % confidently classified"), "{c}");
    }
}
