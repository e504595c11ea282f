//! CycleGAN's round ([`cycle_step`]): both generators take one step on the whole objective with
//! the discriminators held still, then both discriminators take one step on the real pictures
//! and on fakes drawn from their history pools. The model and the formulas are in
//! [`crate::models::cyclegan`]; the step is written with the calls a notebook's step has
//! ([`Round`]), so notebook 07 can type it and check it against this one.

use anyhow::{Context, Result, bail};
use tch::Tensor;

use super::config::ModelConfig;
use super::round::Round;
use super::step::{DUpdate, GUpdate, d_game_loss, g_game_loss, mean_output};
use crate::game::GanLoss;
use crate::losses::l1_loss;
use crate::models::cyclegan::{CycleGanConfig, HistoryPool};

/// The cycle game's config of a round (an error for any other model).
fn cycle_config(r: &Round) -> Result<CycleGanConfig> {
    match &r.config().model {
        ModelConfig::CycleGan(c) => Ok(c.clone()),
        other => bail!("cycle_step plays CycleGAN, not {}", other.name()),
    }
}

/// The history pool of the discriminator `player` (`d_a` or `d_b`).
pub fn pool_of(r: &Round, player: &str) -> Result<HistoryPool> {
    let players = r.players();
    Ok(HistoryPool::from_variables(
        players.variable(&format!("{player}.pool.images"))?,
        players.variable(&format!("{player}.pool.filled"))?,
    ))
}

/// One round of CycleGAN. The real batch is a batch of B with a batch of A as its condition,
/// each drawn in its own order. Reports G's whole loss, the mean verdict of both D's on the
/// fakes, and the cycle L1 (both directions, without λ) in the history's L1 column; then the
/// sum of both D's losses and their mean verdicts on real and (pooled) fake pictures.
pub fn cycle_step(r: &mut Round) -> Result<()> {
    let cycle = cycle_config(r)?;
    let loss = r.config().loss;
    let (real_b, real_a) = r.real()?;
    let real_a = real_a.context("CycleGAN needs a batch of A beside the batch of B")?;
    let players = r.players();
    let (g_ab, g_ba) = (
        players.generator_named("g_ab")?,
        players.generator_named("g_ba")?,
    );
    let (d_a, d_b) = (
        players.discriminator_named("d_a")?,
        players.discriminator_named("d_b")?,
    );

    // Both generators: fool each D, come back around the cycle, leave the other domain alone.
    let fake_b = g_ab.generate(&real_a, None, true);
    let fake_a = g_ba.generate(&real_b, None, true);
    let (scores_b, scores_a) = (
        d_b.score(&fake_b, None, true)?,
        d_a.score(&fake_a, None, true)?,
    );
    let gan = g_game_loss(&scores_b, loss) + g_game_loss(&scores_a, loss);
    let lambda = cycle.lambda_cycle;
    // Without the cycle term the way back is only measured (the history's L1), not trained.
    let around = || {
        let back_a = g_ba.generate(&fake_b, None, true);
        let back_b = g_ab.generate(&fake_a, None, true);
        l1_loss(&back_a, &real_a, 1.0) + l1_loss(&back_b, &real_b, 1.0)
    };
    let cycle_l1 = if lambda > 0.0 {
        around()
    } else {
        tch::no_grad(around)
    };
    let with_cycle = if lambda > 0.0 {
        gan + &cycle_l1 * lambda
    } else {
        gan
    };
    let identity = cycle.lambda_identity * lambda;
    let loss_g = if identity > 0.0 {
        let same_b = g_ab.generate(&real_b, None, true);
        let same_a = g_ba.generate(&real_a, None, true);
        let drift = l1_loss(&same_b, &real_b, 1.0) + l1_loss(&same_a, &real_a, 1.0);
        with_cycle + drift * identity
    } else {
        with_cycle
    };
    // Gradients for the generators' weights only: the discriminators stay as they are.
    let g_norm = r.opt_g().minimize(&loss_g)?;
    r.log_g_update(GUpdate {
        loss_g: loss_g.detach(),
        d_fake: both(&scores_b, &scores_a, loss),
        grad_norm: g_norm,
        l1: Some(cycle_l1.detach()),
    });

    // Both discriminators: the real pictures against fakes from the pools.
    let pooled_b = pool_of(r, "d_b")?.query(&fake_b, cycle.pool_size)?;
    let pooled_a = pool_of(r, "d_a")?.query(&fake_a, cycle.pool_size)?;
    let players = r.players();
    let (d_a, d_b) = (
        players.discriminator_named("d_a")?,
        players.discriminator_named("d_b")?,
    );
    let (real_b_scores, fake_b_scores) = (
        d_b.score(&real_b, None, true)?,
        d_b.score(&pooled_b, None, true)?,
    );
    let (real_a_scores, fake_a_scores) = (
        d_a.score(&real_a, None, true)?,
        d_a.score(&pooled_a, None, true)?,
    );
    let label = r.config().real_label;
    let loss_d = d_game_loss(&real_b_scores, &fake_b_scores, loss, label)
        + d_game_loss(&real_a_scores, &fake_a_scores, loss, label);
    let d_norm = r.opt_d().minimize(&loss_d)?;
    r.log_d_update(DUpdate {
        loss_d: loss_d.detach(),
        d_real: both(&real_b_scores, &real_a_scores, loss),
        d_fake: both(&fake_b_scores, &fake_a_scores, loss),
        wasserstein: None,
        grad_norm: d_norm,
    });
    Ok(())
}

/// The mean D(·) over both discriminators' verdicts.
fn both(b: &Tensor, a: &Tensor, loss: GanLoss) -> Tensor {
    (mean_output(b, loss) + mean_output(a, loss)) * 0.5
}
