//! The feature classifiers reach their accuracy targets, and the scores separate a collapsed
//! generator from real data. The classifiers are trained on first use (about a minute in all on
//! a 2-core CPU) and cached under data/classifiers/.
use gans::data::{Split, mnist};
use gans::metrics::{self, classifier};
use gans::prelude::*;

#[test]
fn classifiers_reach_their_accuracy_targets() -> Result<()> {
    let dev = Device::Cpu;
    for (name, load, target) in [
        (
            "MNIST",
            classifier::mnist as fn(Device) -> Result<metrics::Classifier>,
            0.97,
        ),
        ("Fashion-MNIST", classifier::fashion_mnist, 0.89),
        ("letters", classifier::letters, 0.95),
    ] {
        let c = load(dev)?;
        println!(
            "{name}: test accuracy {:.2} % (target {:.0} %), trained in {:.0} s for {} epochs",
            100.0 * c.meta.test_accuracy,
            100.0 * target,
            c.meta.train_seconds,
            c.meta.epochs
        );
        assert!(
            c.meta.test_accuracy >= target,
            "{name}: {}",
            c.meta.test_accuracy
        );
    }
    Ok(())
}

#[test]
fn a_collapsed_generator_scores_far_worse_than_real_data() -> Result<()> {
    let dev = Device::Cpu;
    let c = classifier::mnist(dev)?;
    let (train, test) = (
        mnist::load(Split::Train, dev)?,
        mnist::load(Split::Test, dev)?,
    );
    let n = 1000;
    // "Real" samples: 1000 random training digits (the file is sorted by class). "Collapsed":
    // one of them, 1000 times, with
    // a little noise so the covariance is not singular.
    tch::manual_seed(0);
    let real = train.images.index_select(
        0,
        &Tensor::randperm(train.len() as i64, (Kind::Int64, dev)).narrow(0, 0, n),
    );
    let collapsed = real.narrow(0, 0, 1).repeat([n, 1, 1, 1])
        + Tensor::randn([n, 1, 28, 28], (Kind::Float, dev)) * 0.05;
    let real_scores = metrics::score_samples(&c, &real, None, &train, &test)?;
    let collapsed_scores = metrics::score_samples(&c, &collapsed, None, &train, &test)?;
    println!("real digits:\n{real_scores}\ncollapsed:\n{collapsed_scores}");
    assert!(collapsed_scores.fd > 10.0 * real_scores.fd.max(real_scores.fd_floor));
    assert!(collapsed_scores.kid.mean > 10.0 * real_scores.kid.mean.abs().max(1e-3));
    assert!(collapsed_scores.coverage.missing >= 8 && real_scores.coverage.missing == 0);
    assert!(collapsed_scores.coverage.classifier_score < 1.5);
    assert!(real_scores.coverage.classifier_score > 8.0);
    // Precision and recall: real digits lie among real ones and reach them; copies of one digit
    // reach almost none of the data. Grey blotches lie among no real digit, whatever the
    // classifier makes of them, so none is readable.
    let (r, k) = (real_scores.fidelity, collapsed_scores.fidelity);
    assert!(r.precision > 0.7 && r.recall > 0.7, "{r}");
    assert!(k.recall < 0.1, "{k}");
    let blotches = (Tensor::randn([n, 1, 7, 7], (Kind::Float, dev)) * 0.5 - 0.3)
        .upsample_bilinear2d([28, 28], false, None, None)
        .clamp(-1.0, 1.0);
    let blotch_scores = metrics::score_samples(&c, &blotches, None, &train, &test)?;
    println!("blotches:\n{blotch_scores}");
    let b = blotch_scores.fidelity;
    assert!(b.readable <= b.precision && b.precision < 0.05, "{b}");
    for f in [r, k, b] {
        assert!(f.readable <= f.precision, "{f}");
    }
    Ok(())
}
