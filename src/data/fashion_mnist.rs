//! Fashion-MNIST: 70,000 photos of clothing, 28×28 grey, 10 classes (Zalando Research, MIT).
//!
//! Source: the Debian package `dataset-fashion-mnist`, whose four gzipped IDX files `make data`
//! copies to `data/fashion-mnist/`. The split is the dataset's own: `train-*` holds 60,000 images,
//! `t10k-*` 10,000.
//!
//! ## The IDX format
//! A big-endian header, then the raw bytes. The header is a magic number, `0x0000_08NN` where
//! `08` says "unsigned bytes" and `NN` is the number of dimensions, then one u32 per dimension.
//! Images are `0x00000803` with dimensions `[N, 28, 28]`; labels are `0x00000801` with `[N]`.
//! The reader checks the magic, the dimensions, that the payload has exactly the announced
//! length, and that images and labels agree on N.

use std::io::Read;
use std::path::Path;

use anyhow::{Context, Result};
use tch::{Device, Kind, Tensor};

use super::{Dataset, Split, data_dir, missing_file};

/// The ten classes, in label order.
pub const CLASS_NAMES: [&str; 10] = [
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
];

/// Loads the Fashion-MNIST split from `data/fashion-mnist/` onto `device`.
pub fn load(split: Split, device: Device) -> Result<Dataset> {
    load_from(&data_dir().join("fashion-mnist"), split, device)
}

/// Loads the Fashion-MNIST split from a folder holding the four `.gz` IDX files.
pub fn load_from(folder: &Path, split: Split, device: Device) -> Result<Dataset> {
    let prefix = match split {
        Split::Train => "train",
        Split::Test => "t10k",
    };
    let images_path = folder.join(format!("{prefix}-images-idx3-ubyte.gz"));
    let labels_path = folder.join(format!("{prefix}-labels-idx1-ubyte.gz"));
    let (image_dims, pixels) = read_idx(&images_path, 3)?;
    let (label_dims, labels) = read_idx(&labels_path, 1)?;
    anyhow::ensure!(
        image_dims[1] == 28 && image_dims[2] == 28,
        "{}: images are {}×{}, expected 28×28",
        images_path.display(),
        image_dims[1],
        image_dims[2]
    );
    anyhow::ensure!(
        image_dims[0] == label_dims[0],
        "{} holds {} images but {} holds {} labels; reinstall with `make data`",
        images_path.display(),
        image_dims[0],
        labels_path.display(),
        label_dims[0]
    );
    if let Some(bad) = labels.iter().find(|&&l| l >= 10) {
        anyhow::bail!(
            "{}: label {bad} is not a class (0–9)",
            labels_path.display()
        );
    }
    let n = image_dims[0] as i64;
    let images = Tensor::from_slice(&pixels)
        .view([n, 1, 28, 28])
        .to_kind(Kind::Float)
        / 127.5
        - 1.0;
    let labels = Tensor::from_slice(&labels).to_kind(Kind::Int64);
    Ok(Dataset {
        name: format!("fashion-mnist/{}", split.name()),
        images: images.to_device(device),
        labels: Some(labels.to_device(device)),
        class_names: CLASS_NAMES.iter().map(|s| s.to_string()).collect(),
    })
}

/// Reads a gzipped (or plain) IDX file of unsigned bytes with `rank` dimensions.
/// Returns the dimensions and the payload, after checking that they agree.
pub fn read_idx(path: &Path, rank: usize) -> Result<(Vec<usize>, Vec<u8>)> {
    if !path.exists() {
        return Err(missing_file(path, "Fashion-MNIST file"));
    }
    let raw = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    let bytes = if raw.starts_with(&[0x1f, 0x8b]) {
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(&raw[..])
            .read_to_end(&mut out)
            .with_context(|| {
                format!(
                    "{}: the gzip stream is corrupt or truncated; run `make data` to reinstall it",
                    path.display()
                )
            })?;
        out
    } else {
        raw
    };
    parse_idx(&bytes, rank).with_context(|| format!("{} is not a valid IDX file", path.display()))
}

/// Parses IDX bytes (see the module doc) of unsigned bytes with `rank` dimensions.
pub fn parse_idx(bytes: &[u8], rank: usize) -> Result<(Vec<usize>, Vec<u8>)> {
    let header_len = 4 + 4 * rank;
    anyhow::ensure!(
        bytes.len() >= header_len,
        "{} bytes is shorter than the {header_len}-byte header",
        bytes.len()
    );
    let word = |i: usize| {
        u32::from_be_bytes([
            bytes[4 * i],
            bytes[4 * i + 1],
            bytes[4 * i + 2],
            bytes[4 * i + 3],
        ])
    };
    let magic = word(0);
    let expected = 0x0800 | rank as u32;
    anyhow::ensure!(
        magic == expected,
        "magic number {magic:#010x}, expected {expected:#010x} (unsigned bytes, {rank} dimensions)"
    );
    let dims: Vec<usize> = (1..=rank).map(|i| word(i) as usize).collect();
    let len: usize = dims.iter().product();
    let payload = &bytes[header_len..];
    anyhow::ensure!(
        payload.len() == len,
        "the header announces {dims:?} = {len} bytes but {} follow (truncated or corrupt)",
        payload.len()
    );
    Ok((dims, payload.to_vec()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// IDX bytes for `dims` with the given payload.
    fn idx(dims: &[u32], payload: &[u8]) -> Vec<u8> {
        let mut out = vec![0, 0, 0x08, dims.len() as u8];
        for d in dims {
            out.extend_from_slice(&d.to_be_bytes());
        }
        out.extend_from_slice(payload);
        out
    }

    fn gzip(bytes: &[u8]) -> Vec<u8> {
        use std::io::Write;
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        encoder.write_all(bytes).unwrap();
        encoder.finish().unwrap()
    }

    fn fixture(dir: &Path, n: usize, labels: &[u8]) {
        let pixels: Vec<u8> = (0..n * 784).map(|i| (i % 256) as u8).collect();
        std::fs::write(
            dir.join("train-images-idx3-ubyte.gz"),
            gzip(&idx(&[n as u32, 28, 28], &pixels)),
        )
        .unwrap();
        std::fs::write(
            dir.join("train-labels-idx1-ubyte.gz"),
            gzip(&idx(&[labels.len() as u32], labels)),
        )
        .unwrap();
    }

    #[test]
    fn reads_a_valid_file() {
        let dir = crate::data::test_dir("fashion-ok");
        fixture(&dir, 3, &[0, 9, 4]);
        let data = load_from(&dir, Split::Train, Device::Cpu).unwrap();
        assert_eq!(data.images.size(), [3, 1, 28, 28]);
        assert_eq!(
            Vec::<i64>::try_from(data.labels.as_ref().unwrap()).unwrap(),
            vec![0, 9, 4]
        );
        // byte 0 → -1, byte 255 → +1
        assert_eq!(data.images.min().double_value(&[]), -1.0);
        assert_eq!(data.images.max().double_value(&[]), 1.0);
        assert_eq!(data.class_names[9], "Ankle boot");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn rejects_bad_files_with_the_reason() {
        assert!(
            parse_idx(&[0, 0, 8], 1)
                .unwrap_err()
                .to_string()
                .contains("shorter than")
        );
        let wrong_magic = idx(&[2, 28, 28], &[0; 2 * 784]);
        assert!(
            parse_idx(&wrong_magic, 1)
                .unwrap_err()
                .to_string()
                .contains("magic number")
        );
        let short = idx(&[2, 28, 28], &[0; 784]);
        assert!(
            parse_idx(&short, 3)
                .unwrap_err()
                .to_string()
                .contains("truncated")
        );

        let dir = crate::data::test_dir("fashion-bad");
        let err = load_from(&dir, Split::Test, Device::Cpu)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("t10k-images-idx3-ubyte.gz") && err.contains("make data"),
            "{err}"
        );

        fixture(&dir, 3, &[0, 1]);
        let err = load_from(&dir, Split::Train, Device::Cpu)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("3 images") && err.contains("2 labels"),
            "{err}"
        );

        fixture(&dir, 2, &[0, 12]);
        let err = load_from(&dir, Split::Train, Device::Cpu)
            .unwrap_err()
            .to_string();
        assert!(err.contains("label 12"), "{err}");

        // A gzip stream cut in half.
        let images = dir.join("train-images-idx3-ubyte.gz");
        let bytes = std::fs::read(&images).unwrap();
        std::fs::write(&images, &bytes[..bytes.len() / 2]).unwrap();
        let err = format!(
            "{:#}",
            load_from(&dir, Split::Train, Device::Cpu).unwrap_err()
        );
        assert!(
            err.contains("train-images-idx3-ubyte.gz") && err.contains("corrupt"),
            "{err}"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
