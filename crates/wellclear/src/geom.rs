//! Small vector types and the floating-point comparisons the DAIDALUS algorithms are specified with.
//!
//! Everything is SI: metres, seconds, metres per second. `x` points East, `y` North, `z` Up.

use std::ops::{Add, Mul, Neg, Sub};

/// A horizontal vector (East, North).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Vec2 {
    /// East component.
    pub x: f64,
    /// North component.
    pub y: f64,
}

/// A 3-D vector (East, North, Up).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Vec3 {
    /// East component.
    pub x: f64,
    /// North component.
    pub y: f64,
    /// Up component.
    pub z: f64,
}

impl Vec2 {
    /// A vector from its components.
    pub const fn new(x: f64, y: f64) -> Self {
        Self { x, y }
    }
    /// Dot product.
    pub fn dot(self, o: Self) -> f64 {
        self.x * o.x + self.y * o.y
    }
    /// Squared norm.
    pub fn sqv(self) -> f64 {
        self.dot(self)
    }
    /// Euclidean norm.
    pub fn norm(self) -> f64 {
        self.sqv().sqrt()
    }
    /// 2-D determinant (z of the cross product).
    pub fn det(self, o: Self) -> f64 {
        self.x * o.y - self.y * o.x
    }
    /// `self * k + o`.
    pub fn scal_add(self, k: f64, o: Self) -> Self {
        Self::new(self.x * k + o.x, self.y * k + o.y)
    }
    /// Both components almost equal (see [`almost_equals`]).
    pub fn almost_equals(self, o: Self) -> bool {
        almost_equals(self.x, o.x) && almost_equals(self.y, o.y)
    }
}

impl Vec3 {
    /// A vector from its components.
    pub const fn new(x: f64, y: f64, z: f64) -> Self {
        Self { x, y, z }
    }
    /// The horizontal part.
    pub fn xy(self) -> Vec2 {
        Vec2::new(self.x, self.y)
    }
    /// Dot product.
    pub fn dot(self, o: Self) -> f64 {
        self.x * o.x + self.y * o.y + self.z * o.z
    }
    /// Euclidean norm.
    pub fn norm(self) -> f64 {
        self.dot(self).sqrt()
    }
    /// Cross product.
    pub fn cross(self, o: Self) -> Self {
        Self::new(
            self.y * o.z - self.z * o.y,
            self.z * o.x - self.x * o.z,
            self.x * o.y - self.y * o.x,
        )
    }
    /// Unit vector in the same direction; the zero vector stays zero.
    pub fn hat(self) -> Self {
        let n = self.norm();
        if n == 0.0 { self } else { self * (1.0 / n) }
    }
    /// `self + v * t`: straight-line position after `t` seconds at velocity `v`.
    pub fn linear(self, v: Self, t: f64) -> Self {
        Self::new(self.x + v.x * t, self.y + v.y * t, self.z + v.z * t)
    }
}

impl Add for Vec2 {
    type Output = Self;
    fn add(self, o: Self) -> Self {
        Self::new(self.x + o.x, self.y + o.y)
    }
}
impl Sub for Vec2 {
    type Output = Self;
    fn sub(self, o: Self) -> Self {
        Self::new(self.x - o.x, self.y - o.y)
    }
}
impl Add for Vec3 {
    type Output = Self;
    fn add(self, o: Self) -> Self {
        Self::new(self.x + o.x, self.y + o.y, self.z + o.z)
    }
}
impl Sub for Vec3 {
    type Output = Self;
    fn sub(self, o: Self) -> Self {
        Self::new(self.x - o.x, self.y - o.y, self.z - o.z)
    }
}
impl Mul<f64> for Vec3 {
    type Output = Self;
    fn mul(self, k: f64) -> Self {
        Self::new(self.x * k, self.y * k, self.z * k)
    }
}
impl Neg for Vec3 {
    type Output = Self;
    fn neg(self) -> Self {
        Self::new(-self.x, -self.y, -self.z)
    }
}

/// Units in the last place within which two doubles count as equal: about 13 significant
/// decimal digits, the default tolerance of the DAIDALUS formal algorithms.
pub const ULPS_13_DIGITS: i64 = 16348;

/// Near-equality as the DAIDALUS algorithms use it at decision boundaries: equal within
/// [`ULPS_13_DIGITS`] units in the last place, or both within 1e-13 of zero when one is zero.
/// Infinities and NaN are never almost equal to anything else.
pub fn almost_equals(a: f64, b: f64) -> bool {
    almost_equals_ulps(a, b, ULPS_13_DIGITS as u64)
}

/// [`almost_equals`] with a tolerance of `ulps` units in the last place (the zero rule is the same).
pub fn almost_equals_ulps(a: f64, b: f64, ulps: u64) -> bool {
    if a == b {
        return true;
    }
    if (a == 0.0 || b == 0.0) && a.abs() < 1e-13 && b.abs() < 1e-13 {
        return true;
    }
    if !a.is_finite() || !b.is_finite() {
        return false;
    }
    ordered_bits(a).abs_diff(ordered_bits(b)) <= ulps
}

/// Maps a double to an integer whose order is the order of the doubles, so that the difference
/// of two such integers counts the representable doubles between them.
fn ordered_bits(x: f64) -> i64 {
    let i = x.to_bits() as i64;
    if i < 0 { i64::MIN - i } else { i }
}

/// `a < b` and not [`almost_equals`].
pub fn almost_less(a: f64, b: f64) -> bool {
    !almost_equals(a, b) && a < b
}

/// Root of `a t² + 2 b t + c = 0`; `eps = -1` the smaller, `eps = 1` the larger. `None` when
/// there is no real root (a discriminant almost zero counts as a double root).
pub fn root2b(a: f64, b: f64, c: f64, eps: f64) -> Option<f64> {
    if a == 0.0 && b == 0.0 {
        None
    } else if a == 0.0 {
        Some(-c / (2.0 * b))
    } else {
        let sqb = b * b;
        let ac = a * c;
        if almost_equals(sqb, ac) || sqb > ac {
            Some((-b + eps * (sqb - ac).max(0.0).sqrt()) / a)
        } else {
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn almost_equals_tolerates_last_digits_only() {
        assert!(almost_equals(1.0, 1.0 + 1e-15));
        assert!(!almost_equals(1.0, 1.0 + 1e-10));
        assert!(almost_equals(0.0, 1e-14));
        assert!(!almost_equals(0.0, 1e-12));
        assert!(almost_equals(-2.0, -2.0 - 4e-16));
        assert!(!almost_equals(f64::INFINITY, f64::MAX));
        assert!(!almost_equals(f64::NAN, f64::NAN));
    }

    #[test]
    fn root2b_solves_quadratic() {
        // t² - 2·3t + 8 = 0 → t = 2, 4
        assert_eq!(root2b(1.0, -3.0, 8.0, -1.0), Some(2.0));
        assert_eq!(root2b(1.0, -3.0, 8.0, 1.0), Some(4.0));
        assert_eq!(root2b(1.0, 0.0, 1.0, 1.0), None);
    }
}
