//! Any folder of JPEG or PNG images, e.g. CelebA's `img_align_celeba`, as a dataset.
//!
//! Each image is decoded, flattened onto white if it has transparency, centre-cropped to a
//! square, and resized to `size × size` (grey or RGB). Files are read on all cores. Files that
//! cannot be used (not an image, unreadable, corrupt, or too small: a side under a quarter of
//! `size`) are skipped and counted with the reason, so
//! a few bad files in a large folder do not stop a run, and none is dropped silently.
//! 16-bit, grey, grey+alpha, RGB and RGBA images are all accepted.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use image::{DynamicImage, imageops::FilterType};
use tch::{Device, Kind, Tensor};

use super::{Dataset, read_parallel};

/// How to read a folder.
#[derive(Debug, Clone)]
pub struct FolderOptions {
    /// Side of the square images produced (default 64).
    pub size: u32,
    /// One grey channel instead of RGB (default false).
    pub grey: bool,
    /// Read at most this many images (in file-name order); `None` reads them all.
    pub limit: Option<usize>,
}

impl Default for FolderOptions {
    fn default() -> Self {
        FolderOptions {
            size: 64,
            grey: false,
            limit: None,
        }
    }
}

impl FolderOptions {
    pub fn size(mut self, size: u32) -> Self {
        self.size = size;
        self
    }
    pub fn grey(mut self, grey: bool) -> Self {
        self.grey = grey;
        self
    }
    pub fn limit(mut self, limit: usize) -> Self {
        self.limit = Some(limit);
        self
    }
}

/// Files that were passed over, each with the reason.
#[derive(Debug, Default, Clone)]
pub struct Skipped(pub Vec<(PathBuf, String)>);

impl std::fmt::Display for Skipped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.0.is_empty() {
            return write!(f, "no file skipped");
        }
        write!(f, "{} file(s) skipped:", self.0.len())
            .and_then(|_| {
                self.0
                    .iter()
                    .take(5)
                    .try_for_each(|(path, why)| write!(f, "\n  {}: {why}", path.display()))
            })
            .and_then(|_| match self.0.len() {
                n if n > 5 => write!(f, "\n  … and {} more", n - 5),
                _ => Ok(()),
            })
    }
}

/// Loads every JPEG/PNG under `folder` (sub-folders included) as `[N, C, size, size]` in [-1, 1].
pub fn load(
    folder: impl AsRef<Path>,
    options: &FolderOptions,
    device: Device,
) -> Result<(Dataset, Skipped)> {
    let folder = folder.as_ref();
    anyhow::ensure!(
        options.size >= 4 && options.size <= 1024,
        "image size {} is not supported: use 4 to 1024",
        options.size
    );
    anyhow::ensure!(
        folder.is_dir(),
        "{} is not a folder of images",
        folder.display()
    );
    let mut files = Vec::new();
    let mut skipped = Skipped::default();
    let mut seen = std::collections::HashSet::new();
    walk(folder, &mut files, &mut skipped, &mut seen)
        .with_context(|| format!("listing {}", folder.display()))?;
    files.sort();
    let mut images: Vec<PathBuf> = Vec::new();
    for path in files {
        let ext = path
            .extension()
            .map(|e| e.to_string_lossy().to_ascii_lowercase())
            .unwrap_or_default();
        if matches!(ext.as_str(), "png" | "jpg" | "jpeg") {
            images.push(path);
        } else {
            skipped
                .0
                .push((path, "not a .png, .jpg or .jpeg file".into()));
        }
    }
    anyhow::ensure!(
        !images.is_empty(),
        "{} holds no .png, .jpg or .jpeg file",
        folder.display()
    );
    // Read up to `limit` good images: read in slices so a bad file does not shorten the result.
    let wanted = options.limit.unwrap_or(usize::MAX);
    let mut pixels: Vec<u8> = Vec::new();
    let mut count = 0;
    for part in images.chunks(1024) {
        if count >= wanted {
            break;
        }
        for (path, result) in part.iter().zip(read_parallel(part, |p| {
            read_square(p, options.size, options.grey)
        })) {
            match result {
                Ok(bytes) if count < wanted => {
                    pixels.extend_from_slice(&bytes);
                    count += 1;
                }
                Ok(_) => {}
                Err(why) => skipped.0.push((path.clone(), why)),
            }
        }
    }
    anyhow::ensure!(
        count > 0,
        "no image in {} could be read; {skipped}",
        folder.display()
    );
    let channels = if options.grey { 1 } else { 3 };
    let name = folder
        .file_name()
        .map_or("images".into(), |n| n.to_string_lossy().into_owned());
    Ok((
        Dataset {
            name,
            images: bytes_to_images(&pixels, count, channels, options.size).to_device(device),
            labels: None,
            class_names: vec![],
        },
        skipped,
    ))
}

/// The files below `dir`, links followed. A folder reached twice (a link back up the tree) is
/// read once; what is neither a file nor a folder (a pipe, which would block the reader
/// forever; a socket; a device; a broken link) is skipped with the reason.
fn walk(
    dir: &Path,
    out: &mut Vec<PathBuf>,
    skipped: &mut Skipped,
    seen: &mut std::collections::HashSet<PathBuf>,
) -> std::io::Result<()> {
    if !seen.insert(std::fs::canonicalize(dir)?) {
        return Ok(());
    }
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        match std::fs::metadata(&path) {
            Ok(m) if m.is_dir() => walk(&path, out, skipped, seen)?,
            Ok(m) if m.is_file() => out.push(path),
            Ok(_) => skipped.0.push((
                path,
                "not a file (a pipe, socket or device): only picture files are read".into(),
            )),
            Err(e) => skipped
                .0
                .push((path, format!("cannot open: {e} (a broken link?)"))),
        }
    }
    Ok(())
}

/// Reads one image file into `size × size` bytes, channels last (see [`square`]).
fn read_square(path: &Path, size: u32, grey: bool) -> std::result::Result<Vec<u8>, String> {
    super::with_picture(path, |image| {
        small_enough(&image, size).map(|()| square(&image, size, grey))
    })
}

/// A picture can be made `size × size` without enlarging it more than 4 times into a blur.
fn small_enough(image: &DynamicImage, size: u32) -> std::result::Result<(), String> {
    let side = image.width().min(image.height());
    if side * 4 < size {
        return Err(format!(
            "{}×{} is too small to make a {size}×{size} image (it would be enlarged more than 4 \
             times into a blur): remove it, or choose a smaller --image-size",
            image.width(),
            image.height()
        ));
    }
    Ok(())
}

/// Flattens transparency onto white, centre-crops to a square, resizes to `size`, and returns
/// the bytes channels last (1 channel if `grey`, else 3).
pub(crate) fn square(image: &DynamicImage, size: u32, grey: bool) -> Vec<u8> {
    let rgba = image.to_rgba8(); // any depth or colour type → 8-bit RGBA
    let (w, h) = rgba.dimensions();
    let side = w.min(h);
    let cropped =
        image::imageops::crop_imm(&rgba, (w - side) / 2, (h - side) / 2, side, side).to_image();
    let resized = if side == size {
        cropped
    } else {
        image::imageops::resize(&cropped, size, size, FilterType::Triangle)
    };
    let mut out = Vec::with_capacity((size * size * 3) as usize);
    for p in resized.pixels() {
        let [r, g, b, a] = p.0;
        let over_white = |c: u8| ((c as u32 * a as u32 + 255 * (255 - a as u32) + 127) / 255) as u8;
        let rgb = [over_white(r), over_white(g), over_white(b)];
        if grey {
            // ITU-R BT.601 luma, as most image libraries compute grey.
            out.push(
                ((rgb[0] as u32 * 299 + rgb[1] as u32 * 587 + rgb[2] as u32 * 114 + 500) / 1000)
                    as u8,
            );
        } else {
            out.extend_from_slice(&rgb);
        }
    }
    out
}

/// Bytes `[N, size, size, C]` → float tensor `[N, C, size, size]` in [-1, 1].
pub(crate) fn bytes_to_images(bytes: &[u8], n: usize, channels: i64, size: u32) -> Tensor {
    let s = size as i64;
    Tensor::from_slice(bytes)
        .view([n as i64, s, s, channels])
        .permute([0, 3, 1, 2])
        .to_kind(Kind::Float)
        / 127.5
        - 1.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mixed_folder_loads_and_reports_what_it_skipped() {
        let dir = crate::data::test_dir("folder-mixed");
        // Grey 8-bit, 40×20 (cropped to its centre 20×20), all black.
        image::GrayImage::from_pixel(40, 20, image::Luma([0]))
            .save(dir.join("a_grey.png"))
            .unwrap();
        // RGBA fully transparent: becomes white.
        image::RgbaImage::from_pixel(16, 16, image::Rgba([255, 0, 0, 0]))
            .save(dir.join("b_rgba.png"))
            .unwrap();
        // 16-bit RGB, in a sub-folder.
        std::fs::create_dir_all(dir.join("sub")).unwrap();
        let deep = image::ImageBuffer::<image::Rgb<u16>, Vec<u16>>::from_pixel(
            8,
            8,
            image::Rgb([65535, 0, 0]),
        );
        DynamicImage::ImageRgb16(deep)
            .save(dir.join("sub/c_16bit.png"))
            .unwrap();
        // JPEG.
        image::RgbImage::from_pixel(30, 30, image::Rgb([0, 0, 255]))
            .save(dir.join("d.jpg"))
            .unwrap();
        // Junk.
        std::fs::write(dir.join("e_corrupt.png"), b"\x89PNG not really").unwrap();
        std::fs::write(dir.join("notes.txt"), b"hello").unwrap();

        let (data, skipped) = load(&dir, &FolderOptions::default().size(8), Device::Cpu).unwrap();
        assert_eq!(data.images.size(), [4, 3, 8, 8]);
        assert_eq!(skipped.0.len(), 2, "{skipped}");
        let text = skipped.to_string();
        assert!(
            text.contains("e_corrupt.png") && text.contains("notes.txt"),
            "{text}"
        );
        let pixel = |i: i64| {
            Vec::<f32>::try_from(data.images.get(i).mean_dim(
                [1i64, 2].as_slice(),
                false,
                Kind::Float,
            ))
            .unwrap()
        };
        assert_eq!(pixel(0), vec![-1.0, -1.0, -1.0]); // black grey image
        assert_eq!(pixel(1), vec![1.0, 1.0, 1.0]); // transparent → white
        // Files come in path order: d.jpg sorts before sub/c_16bit.png.
        assert_eq!(pixel(3), vec![1.0, -1.0, -1.0]); // 16-bit red
        let blue = pixel(2);
        assert!(blue[2] > 0.9 && blue[0] < -0.9, "JPEG blue: {blue:?}");

        let (grey, _) = load(
            &dir,
            &FolderOptions::default().size(8).grey(true).limit(2),
            Device::Cpu,
        )
        .unwrap();
        assert_eq!(grey.images.size(), [2, 1, 8, 8]);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn empty_missing_and_bad_arguments_are_errors() {
        let dir = crate::data::test_dir("folder-empty");
        let err = load(&dir, &FolderOptions::default(), Device::Cpu)
            .unwrap_err()
            .to_string();
        assert!(err.contains("holds no .png"), "{err}");
        std::fs::write(dir.join("x.png"), b"nope").unwrap();
        let err = load(&dir, &FolderOptions::default(), Device::Cpu)
            .unwrap_err()
            .to_string();
        assert!(err.contains("no image") && err.contains("x.png"), "{err}");
        let err = load(dir.join("missing"), &FolderOptions::default(), Device::Cpu)
            .unwrap_err()
            .to_string();
        assert!(err.contains("is not a folder"), "{err}");
        let err = load(&dir, &FolderOptions::default().size(0), Device::Cpu)
            .unwrap_err()
            .to_string();
        assert!(err.contains("size 0 is not supported"), "{err}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
