//! Pixel comparison of two screenshots: how many pixels differ and where.

use std::fmt;

use image::RgbImage;

/// How two images differ.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImageDiff {
    /// Pixels whose RGB values differ (all of them when the sizes differ).
    pub differing: u64,
    /// The smallest rectangle holding every differing pixel: `(x, y, width, height)`.
    pub bounds: Option<(u32, u32, u32, u32)>,
    /// `(width, height)` of both images when they differ in size.
    pub size_mismatch: Option<((u32, u32), (u32, u32))>,
}

impl ImageDiff {
    /// Whether the images are identical.
    pub fn is_same(&self) -> bool {
        self.differing == 0
    }
}

impl fmt::Display for ImageDiff {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(((aw, ah), (bw, bh))) = self.size_mismatch {
            return write!(f, "sizes differ: {aw}x{ah} vs {bw}x{bh}");
        }
        match self.bounds {
            None => f.write_str("identical"),
            Some((x, y, w, h)) => write!(
                f,
                "{} pixels differ, within {w}x{h} at ({x}, {y})",
                self.differing
            ),
        }
    }
}

/// Compares `a` with `b` pixel by pixel (exact RGB equality).
pub fn compare(a: &RgbImage, b: &RgbImage) -> ImageDiff {
    if a.dimensions() != b.dimensions() {
        let (aw, ah) = a.dimensions();
        let (bw, bh) = b.dimensions();
        return ImageDiff {
            differing: u64::from(aw.max(bw)) * u64::from(ah.max(bh)),
            bounds: Some((0, 0, aw.max(bw), ah.max(bh))),
            size_mismatch: Some(((aw, ah), (bw, bh))),
        };
    }
    let mut differing = 0u64;
    let mut bounds: Option<(u32, u32, u32, u32)> = None; // x0, y0, x1, y1 inclusive
    for ((x, y, pa), pb) in a.enumerate_pixels().zip(b.pixels()) {
        if pa != pb {
            differing += 1;
            bounds = Some(match bounds {
                None => (x, y, x, y),
                Some((x0, y0, x1, y1)) => (x0.min(x), y0.min(y), x1.max(x), y1.max(y)),
            });
        }
    }
    ImageDiff {
        differing,
        bounds: bounds.map(|(x0, y0, x1, y1)| (x0, y0, x1 - x0 + 1, y1 - y0 + 1)),
        size_mismatch: None,
    }
}

/// Pixels of `image` inside the rectangle that are not `color`: a cheap "something is
/// drawn here" check.
pub fn count_not(image: &RgbImage, rect: (u32, u32, u32, u32), color: [u8; 3]) -> u64 {
    let (x, y, w, h) = rect;
    let mut n = 0;
    for yy in y..(y + h).min(image.height()) {
        for xx in x..(x + w).min(image.width()) {
            if image.get_pixel(xx, yy).0 != color {
                n += 1;
            }
        }
    }
    n
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::Rgb;

    #[test]
    fn identical_and_different() {
        let a = RgbImage::from_pixel(4, 3, Rgb([255, 255, 255]));
        let mut b = a.clone();
        assert!(compare(&a, &b).is_same());
        assert_eq!(compare(&a, &b).to_string(), "identical");
        b.put_pixel(1, 0, Rgb([0, 0, 0]));
        b.put_pixel(2, 2, Rgb([0, 0, 1]));
        let diff = compare(&a, &b);
        assert_eq!(diff.differing, 2);
        assert_eq!(diff.bounds, Some((1, 0, 2, 3)));
        assert_eq!(diff.to_string(), "2 pixels differ, within 2x3 at (1, 0)");
        assert_eq!(count_not(&b, (0, 0, 4, 3), [255, 255, 255]), 2);
        assert_eq!(count_not(&b, (0, 1, 2, 2), [255, 255, 255]), 0);
    }

    #[test]
    fn sizes_differ() {
        let a = RgbImage::new(2, 2);
        let b = RgbImage::new(3, 2);
        let diff = compare(&a, &b);
        assert!(!diff.is_same());
        assert_eq!(diff.to_string(), "sizes differ: 2x2 vs 3x2");
    }
}
