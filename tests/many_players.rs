//! A game of more than two players through the crate's one `Trainer`: two generators and two
//! discriminators (the shape of a CycleGAN), built by a model of the test's own, trained with its
//! own step, checkpointed, and resumed bit for bit.
//!
//! The game: on the ring of 8 Gaussians, `g_a` draws points that `d_a` judges against the ring,
//! `g_b` draws points that `d_b` judges against the ring turned by half a turn (−x), and a cycle
//! term asks `g_b(z)` to be `−g_a(z)`: two generators tied by one loss, as CycleGAN's are.
//! Libtorch's one random generator is seeded by each step, so the test runs alone in its binary.

mod common;
use anyhow::Result;
use gans::data::toy2d::{Toy2d, Toy2dKind};
use gans::game::{Discriminator, GanModel, Generator, Networks};
use gans::losses::{bce, l1_loss};
use gans::models::toy::{ToyConfig, ToyDiscriminator, ToyGenerator};
use gans::train::{ModelConfig, Round, TrainConfig, Trainer};
use tch::{Device, Tensor, nn};

/// Two toy generators and two toy discriminators.
struct TwoPairs(ToyConfig);

impl GanModel for TwoPairs {
    fn name(&self) -> &'static str {
        "two-pairs"
    }

    fn latent_dim(&self) -> Option<i64> {
        Some(self.0.latent_dim)
    }

    fn example_shape(&self) -> Vec<i64> {
        vec![2]
    }

    fn build(&self, vs: &nn::VarStore) -> Result<Networks> {
        let g = |name: &str| -> (String, Box<dyn Generator>) {
            let network = ToyGenerator::new(&self.0, vs.root() / name);
            (name.to_string(), Box::new(network))
        };
        let d = |name: &str| -> (String, Box<dyn Discriminator>) {
            let network = ToyDiscriminator::new(&self.0, vs.root() / name);
            (name.to_string(), Box::new(network))
        };
        Networks::named(vec![g("g_a"), g("g_b")], vec![d("d_a"), d("d_b")])
    }
}

/// One round: both discriminators in one update of D's side, then both generators (their GAN
/// terms and the cycle term) in one update of G's side.
fn two_pairs_step(r: &mut Round) -> Result<()> {
    let (real, _) = r.real()?;
    let z = r.noise(real.size()[0])?;
    let turned = -&real;
    let players = r.players();
    let (g_a, g_b) = (
        players.generator_named("g_a")?,
        players.generator_named("g_b")?,
    );
    let (fake_a, fake_b) = (g_a.generate(&z, None, true), g_b.generate(&z, None, true));
    let (d_a, d_b) = (
        players.discriminator_named("d_a")?,
        players.discriminator_named("d_b")?,
    );
    let real_scores = d_a.score(&real, None, true)?;
    let fake_scores = d_a.score(&fake_a.detach(), None, true)?;
    let loss_d = bce(&real_scores, 1.0)
        + bce(&fake_scores, 0.0)
        + bce(&d_b.score(&turned, None, true)?, 1.0)
        + bce(&d_b.score(&fake_b.detach(), None, true)?, 0.0);
    r.opt_d().zero_grad();
    loss_d.backward();
    r.opt_d().step();
    r.log_d(&loss_d, &real_scores, &fake_scores);

    let players = r.players();
    let scores_a = players
        .discriminator_named("d_a")?
        .score(&fake_a, None, true)?;
    let scores_b = players
        .discriminator_named("d_b")?
        .score(&fake_b, None, true)?;
    let cycle = l1_loss(&fake_b, &(-&fake_a), 1.0);
    let loss_g = bce(&scores_a, 1.0) + bce(&scores_b, 1.0) + cycle * 10.0;
    r.opt_g().zero_grad();
    loss_g.backward();
    r.opt_g().step();
    r.log_g(&loss_g, &scores_a);
    Ok(())
}

fn config() -> TrainConfig {
    let toy = ToyConfig {
        hidden: 32,
        ..ToyConfig::default()
    };
    TrainConfig::toy(toy.clone())
        .model(ModelConfig::custom(TwoPairs(toy)))
        .batch_size(64)
        .seed(11)
        .log_every(3)
        .snapshot_every(4)
        .ema(Some(0.9))
        .quiet()
}

fn ring() -> Toy2d {
    Toy2d::new(Toy2dKind::Ring, Device::Cpu)
}

#[test]
fn two_generators_and_two_discriminators_train_save_and_resume_exactly() {
    // The players, under their own names, with one optimiser per side of the game.
    let mut whole = Trainer::new(config(), ring()).unwrap();
    let names: Vec<String> = whole.variables().into_iter().map(|(n, _)| n).collect();
    for player in ["g_a.", "g_b.", "d_a.", "d_b."] {
        assert!(names.iter().any(|n| n.starts_with(player)), "{player}");
    }
    let (g, d) = whole.parameter_counts();
    let single = Trainer::new(
        TrainConfig::toy(ToyConfig {
            hidden: 32,
            ..ToyConfig::default()
        }),
        ring(),
    )
    .unwrap()
    .parameter_counts();
    assert_eq!(
        (g, d),
        (2 * single.0, 2 * single.1),
        "both of each are counted"
    );

    // The crate's step plays one G against one D: it says so rather than train half the game.
    let err = whole.train(1).unwrap_err().to_string();
    assert!(err.contains("2 generators and 2 discriminators"), "{err}");
    assert_eq!(whole.steps_done(), 0);
    assert!(whole.snapshots().is_empty(), "refused before anything ran");

    whole.train_with(10, two_pairs_step).unwrap();
    let before: Vec<Tensor> = names
        .iter()
        .map(|n| {
            let all = whole.variables();
            all.into_iter().find(|(m, _)| m == n).unwrap().1.copy()
        })
        .collect();
    let fresh = Trainer::new(config(), ring()).unwrap();
    let moved = fresh
        .variables()
        .iter()
        .zip(&before)
        .filter(|((_, a), b)| !a.equal(b))
        .map(|((n, _), _)| n.split('.').next().unwrap().to_string())
        .collect::<std::collections::BTreeSet<_>>();
    assert_eq!(
        moved.into_iter().collect::<Vec<_>>(),
        ["d_a", "d_b", "g_a", "g_b"],
        "every player trained"
    );

    // Stopped at step 5 (between two history points), saved, loaded into a new trainer built
    // with the same model, trained on: the same run, bit for bit.
    let dir = std::env::temp_dir().join(format!("gans-many-players-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let mut first = Trainer::new(config(), ring()).unwrap();
    first.train_with(5, two_pairs_step).unwrap();
    first.save(&dir).unwrap();
    drop(first);
    let mut resumed = Trainer::new(config(), ring()).unwrap();
    resumed.load_checkpoint(&dir).unwrap();
    assert_eq!(resumed.steps_done(), 5);
    resumed.train_with(5, two_pairs_step).unwrap();
    common::same_run(&whole, &resumed);
    // The optimisers' moments and the partly filled history window came back too: two more
    // steps (one closes the window) stay the same.
    whole.train_with(2, two_pairs_step).unwrap();
    resumed.train_with(2, two_pairs_step).unwrap();
    common::same_run(&whole, &resumed);

    // A checkpoint of a model of one's own cannot build that model by itself: it says how.
    let err = format!("{:#}", Trainer::load(&dir, ring()).unwrap_err());
    assert!(
        err.contains("custom model `two-pairs`") && err.contains("load_checkpoint"),
        "{err}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
