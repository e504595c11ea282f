//! Where a run's randomness comes from: one seed, split into streams.
//!
//! A run's randomness is a function of `(seed, stream, index)`: the weights are drawn from
//! stream [`INIT`], every generator step seeds libtorch from `(seed, STEP, step)`, every
//! epoch's shuffled order comes from `(seed, SHUFFLE, epoch)`, and so on. So no random
//! generator state ever needs saving: a checkpoint holds the step counters, and training on
//! from it draws exactly what the run that never stopped drew.

/// SplitMix64: a well-mixed 64-bit hash, to derive per-step and per-epoch seeds from the
/// run's seed (neighbouring steps get unrelated seeds).
pub(crate) fn mix(seed: u64, stream: u64, index: u64) -> u64 {
    let mut z = seed
        .wrapping_add(stream.wrapping_mul(0xD1B5_4A32_D192_ED03))
        .wrapping_add(index.wrapping_mul(0x9E37_79B9_7F4A_7C15));
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The initial weights.
pub(crate) const INIT: u64 = 1;
/// Each generator step: its noise, dropout, augmentation.
pub(crate) const STEP: u64 = 2;
/// Each epoch's shuffled order.
pub(crate) const SHUFFLE: u64 = 3;
/// The fixed noise of the snapshots.
pub(crate) const FIXED: u64 = 4;
/// Pix2Pix's random jitter of each batch.
pub(crate) const JITTER: u64 = 5;
/// Each epoch's shuffled order of an unpaired dataset's second set (CycleGAN's B).
pub(crate) const SHUFFLE_B: u64 = 7;
/// The global generator after a call of a kept or watched trainer ([`Trainer::kept`](super::Trainer::kept)).
pub(crate) const AFTER_CALL: u64 = 6;

/// Seeds libtorch's generator from stream `stream`, entry `index` of the run seeded `seed`.
pub(crate) fn seed_torch(seed: u64, stream: u64, index: u64) {
    // libtorch takes a signed seed; keep 63 bits.
    tch::manual_seed((mix(seed, stream, index) >> 1) as i64);
}
