//! Load time of every dataset, cold (first load in this process; letters: rendered) and warm
//! (second load; letters: read from the cache). Run with `make bench-data`; the figures are
//! recorded in data/README.md.
use std::time::Instant;

use anyhow::Result;
use gans::prelude::*;

fn time<T>(
    what: &str,
    mut load: impl FnMut() -> Result<T>,
    size: impl Fn(&T) -> usize,
) -> Result<()> {
    let start = Instant::now();
    let first = load()?;
    let cold = start.elapsed().as_secs_f64();
    let start = Instant::now();
    let _second = load()?;
    let warm = start.elapsed().as_secs_f64();
    println!("| {what} | {} | {cold:.2} s | {warm:.2} s |", size(&first));
    Ok(())
}

fn main() -> Result<()> {
    let dev = device();
    // Letters: render from scratch the first time, whatever an earlier run cached.
    let cache = data::data_dir().join("cache");
    if cache.exists() {
        for entry in std::fs::read_dir(&cache)? {
            let path = entry?.path();
            if path
                .file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("letters-"))
            {
                std::fs::remove_file(path)?;
            }
        }
    }
    println!("| dataset | images | cold | warm |\n| --- | --- | --- | --- |");
    time(
        "mnist train",
        || mnist::load(Split::Train, dev),
        Dataset::len,
    )?;
    time(
        "fashion-mnist train",
        || fashion_mnist::load(Split::Train, dev),
        Dataset::len,
    )?;
    time(
        "fashion-mnist test",
        || fashion_mnist::load(Split::Test, dev),
        Dataset::len,
    )?;
    time(
        "letters train 28×28",
        || letters::load(Split::Train, &LetterOptions::default(), dev),
        Dataset::len,
    )?;
    time(
        "emoji train, all 64×64",
        || emoji::load(Split::Train, &EmojiOptions::default(), dev),
        Dataset::len,
    )?;
    time(
        "emoji train, faces 64×64",
        || emoji::load(Split::Train, &EmojiOptions::faces(), dev),
        Dataset::len,
    )?;
    let emoji_dir = data::data_dir().join("emoji/google");
    time(
        "image folder (google emoji PNGs) 64×64",
        || image_folder::load(&emoji_dir, &FolderOptions::default(), dev),
        |(d, _)| d.len(),
    )?;
    let faces = emoji::load(Split::Train, &EmojiOptions::faces(), dev)?;
    time(
        "edges→emoji faces (Canny)",
        || paired::edges_to(&faces, 64),
        PairedDataset::len,
    )?;
    let fashion_test = fashion_mnist::load(Split::Test, dev)?;
    time(
        "edges→fashion test, 64×64 (Canny)",
        || paired::edges_to(&fashion_test, 64),
        PairedDataset::len,
    )?;
    // The test splits, for the record.
    let letters_test = letters::load(Split::Test, &LetterOptions::default(), dev)?;
    let emoji_test = emoji::load(Split::Test, &EmojiOptions::default(), dev)?;
    let faces_test = emoji::load(Split::Test, &EmojiOptions::faces(), dev)?;
    println!(
        "\ntest splits: letters {}, emoji {}, emoji faces {}",
        letters_test.len(),
        emoji_test.len(),
        faces_test.len()
    );
    Ok(())
}
