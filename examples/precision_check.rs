//! The numbers of one DCGAN-28 step in fp32 and in bf16, for `tests/scripts/test_precision.py`
//! to compare with PyTorch's `torch.autocast` on the same weights and the same batch.
//!
//! `cargo run --example precision_check -- OUT.npz [model]`
//!
//! `model` is `dcgan28` (default: width 16, batch 8, batch-norm D) or `wgan-gp28` (WGAN-GP's
//! critic, with layer norm, on the Wasserstein loss; the gradient penalty is left out). Writes, as one `.npz`: every weight of G and D (`w.NAME`), the noise `z`
//! and the real batch `real`; then for each precision P, D's loss on the real batch against
//! G's fakes (`P.loss_d`, BCE or Wasserstein), the gradient of that loss for every weight of D
//! (`P.grad.NAME`), G's loss (`P.loss_g`) and its gradient for every weight of G, and the
//! fakes (`P.fake`). All in train mode (batch statistics), as a step computes them; the
//! weights are those of step 0.
use anyhow::{Context, Result, bail};
use gans::data::Dataset;
use gans::losses::bce;
use gans::precision::Precision;
use gans::prelude::*;
use tch::{Device, Kind, Tensor};

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let out = args
        .get(1)
        .context("usage: precision_check OUT.npz [dcgan28|wgan-gp28]")?;
    let which = args.get(2).map(String::as_str).unwrap_or("dcgan28");
    let dev = Device::Cpu;
    let (norm, wasserstein) = match which {
        "dcgan28" => (Norm::Batch, false),
        "wgan-gp28" => (Norm::Layer, true),
        other => bail!("unknown model {other:?}: use dcgan28 or wgan-gp28"),
    };
    let model = ModelConfig::Dcgan(DcganConfig {
        image_size: 28,
        channels: 1,
        width: 16,
        norm,
        ..DcganConfig::default()
    });
    let data = Dataset {
        name: "random".into(),
        images: Tensor::rand([16, 1, 28, 28], (Kind::Float, dev)) * 2.0 - 1.0,
        labels: None,
        class_names: vec![],
    };
    let trainer = Trainer::new(TrainConfig::gan(model).batch_size(8).seed(3), data)?;
    tch::manual_seed(11);
    let z = Tensor::randn([8, 100], (Kind::Float, dev));
    let real = Tensor::rand([8, 1, 28, 28], (Kind::Float, dev)) * 2.0 - 1.0;
    let variables = trainer.variables();
    let mut named: Vec<(String, Tensor)> = variables
        .iter()
        .map(|(name, t)| (format!("w.{name}"), t.detach().copy()))
        .collect();
    named.push(("z".into(), z.copy()));
    named.push(("real".into(), real.copy()));
    let (g, d) = (
        trainer.players().generator(),
        trainer.players().discriminator(),
    );
    // the trainer's networks follow its own switch, not the thread's `precision::autocast`
    let switch = trainer.players().switch().clone();
    let zero_grads = || {
        for (_, t) in &variables {
            let mut grad = t.grad();
            if grad.defined() {
                let _ = grad.zero_();
            }
        }
    };
    let grads = |prefix: &str, named: &mut Vec<(String, Tensor)>, p: &str| {
        for (name, t) in &variables {
            let grad = t.grad();
            if name.starts_with(prefix) && grad.defined() {
                named.push((format!("{p}.grad.{name}"), grad.copy()));
            }
        }
    };
    for precision in [Precision::Fp32, Precision::Bf16] {
        let p = precision.to_string();
        zero_grads();
        let (fake, loss_d) = switch.autocast(precision, || -> Result<(Tensor, Tensor)> {
            let fake = g.generate(&z, None, true);
            let real_scores = d.score(&real, None, true)?;
            let fake_scores = d.score(&fake.detach(), None, true)?;
            let loss = if wasserstein {
                fake_scores.mean(Kind::Float) - real_scores.mean(Kind::Float)
            } else {
                bce(&real_scores, 1.0) + bce(&fake_scores, 0.0)
            };
            Ok((fake, loss))
        })?;
        loss_d.backward();
        grads("discriminator.", &mut named, &p);
        zero_grads();
        let loss_g = switch.autocast(precision, || -> Result<Tensor> {
            let scores = d.score(&fake, None, true)?;
            Ok(if wasserstein {
                -scores.mean(Kind::Float)
            } else {
                bce(&scores, 1.0)
            })
        })?;
        loss_g.backward();
        grads("generator.", &mut named, &p);
        named.push((format!("{p}.loss_d"), loss_d.detach()));
        named.push((format!("{p}.loss_g"), loss_g.detach()));
        named.push((format!("{p}.fake"), fake.detach()));
    }
    Tensor::write_npz(&named, out)?;
    println!("{which}: {} arrays written to {out}", named.len());
    Ok(())
}
