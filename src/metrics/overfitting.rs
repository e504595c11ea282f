//! Is D memorising its training images? Its verdicts on the reals it trains on against its
//! verdicts on real images it has never seen (Karras et al. 2020, Zhao et al. 2020).
//!
//! A D that generalises scores both sets alike. A D that has memorised its training set is sure
//! of those images and unsure of new real ones: the gap between the two means grows as it
//! over-fits, and its verdicts stop telling G anything about the data. Comparing D's verdicts on
//! augmented against clean images would not measure this: both are training images.

use anyhow::{Result, ensure};
use tch::Kind;

use crate::data::Dataset;
use crate::game::GanLoss;
use crate::train::Trainer;

/// D's mean verdict on training reals and on held-out reals.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RealsGap {
    /// Mean verdict on `n` images of the training set.
    pub train: f64,
    /// Mean verdict on `n` held-out images.
    pub held_out: f64,
    /// True when the verdicts are probabilities (σ of D's logit, the BCE games); false for
    /// the hinge and Wasserstein games, whose D gives a score.
    pub probability: bool,
}

impl RealsGap {
    /// `train − held_out`: near 0 while D generalises, growing as it memorises.
    pub fn gap(&self) -> f64 {
        self.train - self.held_out
    }
}

impl std::fmt::Display for RealsGap {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let what = if self.probability {
            "D(x)"
        } else {
            "D's score"
        };
        write!(
            f,
            "{what} on training reals {:.3}, on held-out reals {:.3} (gap {:+.3})",
            self.train,
            self.held_out,
            self.gap()
        )
    }
}

/// D's verdicts on the first `n` images of `train` and of `held_out` (at most each set's size),
/// in evaluation mode (batch norm uses its running statistics and updates nothing, so training
/// can go on afterwards exactly as if this had not been called), 250 images at a time.
pub fn reals_gap(
    trainer: &Trainer,
    train: &Dataset,
    held_out: &Dataset,
    n: usize,
) -> Result<RealsGap> {
    ensure!(n > 0, "reals_gap needs n of at least 1");
    let d = trainer.players().discriminator();
    let probability = matches!(
        trainer.config().loss,
        GanLoss::NonSaturating | GanLoss::Minimax
    );
    let mean = |set: &Dataset| -> Result<f64> {
        ensure!(!set.is_empty(), "{} has no images to score", set.name);
        let n = n.min(set.len());
        let images = set.head(n);
        let mut total = 0.0;
        let _guard = tch::no_grad_guard();
        for (start, len) in super::report::batches(n, 250) {
            let x = images.narrow(0, start as i64, len as i64);
            let labels = set
                .labels
                .as_ref()
                .map(|l| l.narrow(0, start as i64, len as i64));
            let s = d.score(&x, labels.as_ref(), false)?.to_kind(Kind::Float);
            let v = if probability { s.sigmoid() } else { s };
            total += v.sum(Kind::Double).double_value(&[]);
        }
        Ok(total / n as f64)
    };
    Ok(RealsGap {
        train: mean(train)?,
        held_out: mean(held_out)?,
        probability,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::models::dcgan::DcganConfig;
    use crate::train::TrainConfig;
    use tch::Tensor;

    fn noise(name: &str, n: i64, seed: i64) -> Dataset {
        tch::manual_seed(seed);
        Dataset {
            name: name.into(),
            images: Tensor::rand([n, 1, 28, 28], (Kind::Float, tch::Device::Cpu)) * 2.0 - 1.0,
            labels: None,
            class_names: vec![],
        }
    }

    #[test]
    fn the_gap_is_d_s_mean_verdict_on_each_set_and_measuring_changes_nothing() -> Result<()> {
        let (few, other) = (noise("few", 16, 1), noise("other", 300, 2));
        let config = TrainConfig::gan(DcganConfig {
            image_size: 28,
            channels: 1,
            width: 8,
            ..DcganConfig::default()
        })
        .batch_size(16)
        .quiet();
        let mut trainer = Trainer::new(config, few.share())?;
        trainer.train(20)?;
        let gap = reals_gap(&trainer, &few, &other, 280)?;
        assert!(gap.probability);
        // By hand: σ of D's logits in evaluation mode, over all 16 and the first 280.
        let by_hand = |x: &Tensor| -> Result<f64> {
            let _guard = tch::no_grad_guard();
            let s = trainer.players().discriminator().score(x, None, false)?;
            Ok(s.sigmoid().mean(Kind::Double).double_value(&[]))
        };
        assert!((gap.train - by_hand(&few.images)?).abs() < 1e-6, "{gap}");
        assert!(
            (gap.held_out - by_hand(&other.head(280))?).abs() < 1e-6,
            "{gap}"
        );
        // The same set on both sides: no gap. Measuring changes nothing in D, batch norm's
        // running statistics included: the same numbers again, the same weights as before.
        assert!(reals_gap(&trainer, &few, &few, 16)?.gap().abs() < 1e-9);
        let weights = |t: &Trainer| -> Vec<Tensor> {
            t.variables().into_iter().map(|(_, w)| w.copy()).collect()
        };
        let before = weights(&trainer);
        assert_eq!(gap, reals_gap(&trainer, &few, &other, 280)?);
        for (a, b) in before.iter().zip(weights(&trainer)) {
            assert!(a.equal(&b));
        }
        Ok(())
    }
}
