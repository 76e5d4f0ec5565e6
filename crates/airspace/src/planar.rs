//! The planar frame in which footprints are compared, and the exact pair predicates.
//!
//! A [`Frame`] is a local equirectangular projection about an origin:
//! `x = R·cos(φ0)·(λ − λ0)`, `y = R·(φ − φ0)` (metres, R the mean Earth radius). It is an affine
//! map of longitude/latitude, so a polygon edge that is straight in longitude/latitude (the
//! GeoJSON convention) stays straight, and whether two polygons intersect does not depend on the
//! frame. Distances (circle radii, horizontal buffers) are Euclidean in the frame: east–west
//! distances are exact at the origin's latitude and off by the ratio cos(φ)/cos(φ0) elsewhere
//! (about 1.5 % 100 km north or south at 45°, 12 % at 1,000 km), which is why volumes farther
//! than [`Frame::radius_m_max`] from the origin are refused. An agreement's theatre fixes the
//! frame once; every party then measures with the same ruler.

use geo::kernels::{Orientation, RobustKernel};
use geo::{Coord, Intersects, Kernel};

use crate::error::Rule;
use crate::volume::{EARTH_RADIUS_M, Footprint, LonLat, segments_intersect};

/// Default for [`Frame::radius_m_max`]: 1,000 km.
pub const FRAME_RADIUS_M_MAX: f64 = 1_000_000.0;

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Frame {
    origin: LonLat,
    kx_m_per_deg: f64,
    ky_m_per_deg: f64,
    radius_m_max: f64,
}

impl Frame {
    pub fn new(origin: LonLat) -> Self {
        Frame::with_radius(origin, FRAME_RADIUS_M_MAX)
    }
    pub fn with_radius(origin: LonLat, radius_m_max: f64) -> Self {
        let ky = EARTH_RADIUS_M * 1f64.to_radians();
        Frame {
            origin,
            kx_m_per_deg: ky * origin.lat_deg().to_radians().cos(),
            ky_m_per_deg: ky,
            radius_m_max,
        }
    }
    /// A frame centred on the bounding box of `points` (longitude/latitude midpoints).
    pub fn around<'a>(points: impl IntoIterator<Item = &'a LonLat>) -> Option<Self> {
        let mut b: Option<[f64; 4]> = None;
        for p in points {
            let (x, y) = (p.lon_deg(), p.lat_deg());
            b = Some(match b {
                None => [x, y, x, y],
                Some([a, c, d, e]) => [a.min(x), c.min(y), d.max(x), e.max(y)],
            });
        }
        let [x0, y0, x1, y1] = b?;
        LonLat::new((x0 + x1) / 2.0, (y0 + y1) / 2.0)
            .ok()
            .map(Frame::new)
    }
    pub fn origin(&self) -> LonLat {
        self.origin
    }
    pub fn radius_m_max(&self) -> f64 {
        self.radius_m_max
    }
    pub fn project(&self, p: LonLat) -> Coord<f64> {
        Coord {
            x: (p.lon_deg() - self.origin.lon_deg()) * self.kx_m_per_deg,
            y: (p.lat_deg() - self.origin.lat_deg()) * self.ky_m_per_deg,
        }
    }
    /// The inverse of [`Frame::project`]; `None` when the point is out of range.
    pub fn unproject(&self, c: Coord<f64>) -> Option<LonLat> {
        LonLat::new(
            self.origin.lon_deg() + c.x / self.kx_m_per_deg,
            self.origin.lat_deg() + c.y / self.ky_m_per_deg,
        )
        .ok()
    }

    /// The footprint in this frame; refused when any part lies beyond `radius_m_max`.
    pub fn footprint(&self, footprint: &Footprint) -> Result<Planar, Rule> {
        let planar = match footprint {
            Footprint::Polygon(p) => {
                let ring: Vec<Coord<f64>> = p.ring().iter().map(|&v| self.project(v)).collect();
                Planar::polygon(ring)
            }
            Footprint::Circle(c) => Planar::Circle {
                centre: self.project(c.centre()),
                radius_m: c.radius_m(),
            },
        };
        let [x0, y0, x1, y1] = planar.bbox();
        let distance_m = x0.abs().max(x1.abs()).hypot(y0.abs().max(y1.abs()));
        if distance_m > self.radius_m_max {
            return Err(Rule::OutsideFrame {
                distance_m,
                max_m: self.radius_m_max,
            });
        }
        Ok(planar)
    }
}

/// A footprint in a frame's metres.
#[derive(Debug, Clone, PartialEq)]
pub enum Planar {
    Polygon {
        polygon: geo::Polygon<f64>,
        bbox: [f64; 4],
    },
    Circle {
        centre: Coord<f64>,
        radius_m: f64,
    },
}

impl Planar {
    /// `ring` is open (the closing vertex is not repeated).
    pub fn polygon(ring: Vec<Coord<f64>>) -> Planar {
        let mut bbox = [f64::MAX, f64::MAX, f64::MIN, f64::MIN];
        for c in &ring {
            bbox = [
                bbox[0].min(c.x),
                bbox[1].min(c.y),
                bbox[2].max(c.x),
                bbox[3].max(c.y),
            ];
        }
        Planar::Polygon {
            polygon: geo::Polygon::new(geo::LineString::new(ring), vec![]),
            bbox,
        }
    }

    /// `[x_min, y_min, x_max, y_max]`, metres.
    pub fn bbox(&self) -> [f64; 4] {
        match self {
            Planar::Polygon { bbox, .. } => *bbox,
            Planar::Circle { centre, radius_m } => [
                centre.x - radius_m,
                centre.y - radius_m,
                centre.x + radius_m,
                centre.y + radius_m,
            ],
        }
    }

    /// Closed containment of a point.
    pub fn contains(&self, p: Coord<f64>) -> bool {
        match self {
            Planar::Polygon { polygon, bbox } => {
                p.x >= bbox[0]
                    && p.x <= bbox[2]
                    && p.y >= bbox[1]
                    && p.y <= bbox[3]
                    && polygon.intersects(&p)
            }
            Planar::Circle { centre, radius_m } => {
                (p.x - centre.x).hypot(p.y - centre.y) <= *radius_m
            }
        }
    }

    /// The exact horizontal test: the closed footprints intersect, or their distance is below
    /// `h_buffer_m`.
    pub fn conflicts_with(&self, other: &Planar, h_buffer_m: f64) -> bool {
        shapes_conflict(self.shape(), other.shape(), h_buffer_m)
    }

    /// The footprint as a borrowed [`Shape`].
    pub fn shape(&self) -> Shape<'_> {
        match self {
            Planar::Polygon { polygon, bbox } => Shape::Polygon {
                ring: &polygon.exterior().0,
                bbox: *bbox,
            },
            Planar::Circle { centre, radius_m } => Shape::Circle {
                centre: *centre,
                radius_m: *radius_m,
            },
        }
    }
}

/// A vertex as an array keeps it: a [`Coord`], or `[x, y]`.
pub trait Vertex: Copy {
    fn coord(self) -> Coord<f64>;
}

impl Vertex for Coord<f64> {
    #[inline]
    fn coord(self) -> Coord<f64> {
        self
    }
}

impl Vertex for [f64; 2] {
    #[inline]
    fn coord(self) -> Coord<f64> {
        Coord {
            x: self[0],
            y: self[1],
        }
    }
}

/// A footprint in a frame's metres, borrowed: a polygon's closed ring (first vertex repeated at
/// the end) with its bounding box, or a circle. What the exact test reads, wherever the
/// coordinates are kept and in whichever form (see [`Vertex`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Shape<'a, V: Vertex = Coord<f64>> {
    Polygon { ring: &'a [V], bbox: [f64; 4] },
    Circle { centre: Coord<f64>, radius_m: f64 },
}

impl<V: Vertex> Shape<'_, V> {
    /// `[x_min, y_min, x_max, y_max]`, metres.
    pub fn bbox(&self) -> [f64; 4] {
        match self {
            Shape::Polygon { bbox, .. } => *bbox,
            Shape::Circle { centre, radius_m } => [
                centre.x - radius_m,
                centre.y - radius_m,
                centre.x + radius_m,
                centre.y + radius_m,
            ],
        }
    }
}

/// The exact horizontal test on two shapes: the closed footprints intersect, or their distance
/// is below `h_buffer_m`.
pub fn shapes_conflict<A: Vertex, B: Vertex>(
    a: Shape<'_, A>,
    b: Shape<'_, B>,
    h_buffer_m: f64,
) -> bool {
    let (ab, bb) = (a.bbox(), b.bbox());
    let gap_x = (bb[0] - ab[2]).max(ab[0] - bb[2]);
    let gap_y = (bb[1] - ab[3]).max(ab[1] - bb[3]);
    // Boxes farther apart than the buffer on one axis: so are the footprints.
    if gap_x > 0.0 && gap_x >= h_buffer_m || gap_y > 0.0 && gap_y >= h_buffer_m {
        return false;
    }
    match (a, b) {
        (Shape::Polygon { ring: p, bbox: pb }, Shape::Polygon { ring: q, bbox: qb }) => {
            polygons_intersect(p, &pb, q, &qb)
                || (h_buffer_m > 0.0 && rings_closer_than(p, q, h_buffer_m))
        }
        (Shape::Polygon { ring, .. }, Shape::Circle { centre, radius_m }) => {
            polygon_circle_conflict(ring, centre, radius_m, h_buffer_m)
        }
        (Shape::Circle { centre, radius_m }, Shape::Polygon { ring, .. }) => {
            polygon_circle_conflict(ring, centre, radius_m, h_buffer_m)
        }
        (
            Shape::Circle {
                centre: c1,
                radius_m: r1,
            },
            Shape::Circle {
                centre: c2,
                radius_m: r2,
            },
        ) => {
            let d = (c1.x - c2.x).hypot(c1.y - c2.y);
            d <= r1 + r2 || d < r1 + r2 + h_buffer_m
        }
    }
}

fn polygon_circle_conflict<V: Vertex>(
    ring: &[V],
    centre: Coord<f64>,
    radius_m: f64,
    h_buffer_m: f64,
) -> bool {
    if in_ring(centre, ring) {
        return true;
    }
    let d = point_ring_distance(centre, ring);
    d <= radius_m || d < radius_m + h_buffer_m
}

/// Closed point-in-polygon on a closed ring, with exact orientation predicates: a point on an
/// edge or a vertex is inside. Crossing number along +x, each edge counted half-open in y.
fn in_ring<V: Vertex>(p: Coord<f64>, ring: &[V]) -> bool {
    let mut inside = false;
    for e in ring.windows(2) {
        let (a, b) = (e[0].coord(), e[1].coord());
        let o = RobustKernel::orient2d(a, b, p);
        if o == Orientation::Collinear
            && p.x >= a.x.min(b.x)
            && p.x <= a.x.max(b.x)
            && p.y >= a.y.min(b.y)
            && p.y <= a.y.max(b.y)
        {
            return true;
        }
        if (a.y > p.y) != (b.y > p.y) {
            // The edge spans p's height; it crosses the ray to +x when p lies to its left going
            // up, or to its right going down.
            let up = b.y > a.y;
            if (up && o == Orientation::CounterClockwise) || (!up && o == Orientation::Clockwise) {
                inside = !inside;
            }
        }
    }
    inside
}

/// Whether two closed simple polygons (without holes) share a point: a vertex of one lies in
/// the other, or an edge of one meets an edge of the other. The same decision `geo` makes (its
/// segment predicate, and a point-in-polygon test as exact as its), with two filters that only skip what cannot
/// count: a shared point lies in the overlap of the two bounding boxes, so a vertex or an edge
/// outside that overlap, and a pair of edges whose boxes are disjoint, are not looked at.
/// Allocates nothing.
fn polygons_intersect<A: Vertex, B: Vertex>(
    pc: &[A],
    pb: &[f64; 4],
    qc: &[B],
    qb: &[f64; 4],
) -> bool {
    let r = [
        pb[0].max(qb[0]),
        pb[1].max(qb[1]),
        pb[2].min(qb[2]),
        pb[3].min(qb[3]),
    ];
    if r[0] > r[2] || r[1] > r[3] {
        return false;
    }
    let in_r = |c: &Coord<f64>| c.x >= r[0] && c.x <= r[2] && c.y >= r[1] && c.y <= r[3];
    // Edges first: most footprints that meet have edges that cross, and finding one is cheaper
    // than a point-in-polygon test.
    for e in pc.windows(2) {
        let e = [e[0].coord(), e[1].coord()];
        let (ex0, ex1) = (e[0].x.min(e[1].x), e[0].x.max(e[1].x));
        let (ey0, ey1) = (e[0].y.min(e[1].y), e[0].y.max(e[1].y));
        if ex1 < r[0] || ex0 > r[2] || ey1 < r[1] || ey0 > r[3] {
            continue;
        }
        let edge = geo::Line::new(e[0], e[1]);
        // The edges of `qc` whose boxes meet this edge's, found without branches (a bit each,
        // when it has at most 64; coordinates are finite, so no NaN to mind), then tested.
        let meets = |f: &[B]| {
            let f = [f[0].coord(), f[1].coord()];
            (f[0].x.min(f[1].x) <= ex1)
                & (f[0].x.max(f[1].x) >= ex0)
                & (f[0].y.min(f[1].y) <= ey1)
                & (f[0].y.max(f[1].y) >= ey0)
        };
        if qc.len() <= 65 {
            let mut near = 0u64;
            for (k, f) in qc.windows(2).enumerate() {
                near |= u64::from(meets(f)) << k;
            }
            while near != 0 {
                let k = near.trailing_zeros() as usize;
                if edge.intersects(&geo::Line::new(qc[k].coord(), qc[k + 1].coord())) {
                    return true;
                }
                near &= near - 1;
            }
        } else {
            for f in qc.windows(2) {
                if meets(f) && edge.intersects(&geo::Line::new(f[0].coord(), f[1].coord())) {
                    return true;
                }
            }
        }
    }
    // No edges meet: they share a point only if one lies inside the other, vertices included.
    pc.first()
        .is_some_and(|c| in_r(&c.coord()) && in_ring(c.coord(), qc))
        || qc
            .first()
            .is_some_and(|c| in_r(&c.coord()) && in_ring(c.coord(), pc))
}

fn point_segment_distance(p: Coord<f64>, a: Coord<f64>, b: Coord<f64>) -> f64 {
    let (dx, dy) = (b.x - a.x, b.y - a.y);
    let len2 = dx * dx + dy * dy;
    let t = if len2 > 0.0 {
        (((p.x - a.x) * dx + (p.y - a.y) * dy) / len2).clamp(0.0, 1.0)
    } else {
        0.0
    };
    (p.x - (a.x + t * dx)).hypot(p.y - (a.y + t * dy))
}

fn segment_distance(a: Coord<f64>, b: Coord<f64>, c: Coord<f64>, d: Coord<f64>) -> f64 {
    if segments_intersect(a, b, c, d) {
        return 0.0;
    }
    point_segment_distance(a, c, d)
        .min(point_segment_distance(b, c, d))
        .min(point_segment_distance(c, a, b))
        .min(point_segment_distance(d, a, b))
}

fn point_ring_distance<V: Vertex>(p: Coord<f64>, ring: &[V]) -> f64 {
    ring.windows(2)
        .map(|e| point_segment_distance(p, e[0].coord(), e[1].coord()))
        .fold(f64::INFINITY, f64::min)
}

/// Whether two disjoint polygons' boundaries come closer than `d_m`: for polygons without holes
/// that do not intersect, the distance between them is the distance between their rings.
fn rings_closer_than<A: Vertex, B: Vertex>(p: &[A], q: &[B], d_m: f64) -> bool {
    for l in p.windows(2) {
        let (l0, l1) = (l[0].coord(), l[1].coord());
        let (lx0, lx1) = (l0.x.min(l1.x), l0.x.max(l1.x));
        let (ly0, ly1) = (l0.y.min(l1.y), l0.y.max(l1.y));
        for m in q.windows(2) {
            let (m0, m1) = (m[0].coord(), m[1].coord());
            // Per-segment box gap first: the segment distance is at least the box gap.
            let gx = (m0.x.min(m1.x) - lx1).max(lx0 - m0.x.max(m1.x));
            let gy = (m0.y.min(m1.y) - ly1).max(ly0 - m0.y.max(m1.y));
            if gx >= d_m || gy >= d_m {
                continue;
            }
            if segment_distance(l0, l1, m0, m1) < d_m {
                return true;
            }
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(x: f64, y: f64) -> Coord<f64> {
        Coord { x, y }
    }

    fn square(x: f64, y: f64, s: f64) -> Planar {
        Planar::polygon(vec![c(x, y), c(x + s, y), c(x + s, y + s), c(x, y + s)])
    }

    #[test]
    fn squares_sharing_an_edge_intersect() {
        assert!(square(0.0, 0.0, 10.0).conflicts_with(&square(10.0, 0.0, 10.0), 0.0));
    }

    #[test]
    fn squares_sharing_a_corner_intersect() {
        assert!(square(0.0, 0.0, 10.0).conflicts_with(&square(10.0, 10.0, 10.0), 0.0));
    }

    #[test]
    fn buffer_is_strict_distance() {
        let a = square(0.0, 0.0, 10.0);
        let b = square(15.0, 0.0, 10.0);
        assert!(!a.conflicts_with(&b, 0.0));
        assert!(
            !a.conflicts_with(&b, 5.0),
            "distance 5 is not below a 5 m buffer"
        );
        assert!(a.conflicts_with(&b, 5.000001));
    }

    #[test]
    fn buffer_measures_diagonal_distance_not_boxes() {
        // Corner to corner the squares are 5·√2 ≈ 7.07 m apart; their boxes are 5 m apart.
        let a = square(0.0, 0.0, 10.0);
        let b = square(15.0, 15.0, 10.0);
        assert!(!a.conflicts_with(&b, 7.0));
        assert!(a.conflicts_with(&b, 7.08));
    }

    #[test]
    fn circle_touching_a_polygon_edge_intersects() {
        let circle = Planar::Circle {
            centre: c(15.0, 5.0),
            radius_m: 5.0,
        };
        assert!(square(0.0, 0.0, 10.0).conflicts_with(&circle, 0.0));
        let apart = Planar::Circle {
            centre: c(15.0, 5.0),
            radius_m: 4.0,
        };
        assert!(!square(0.0, 0.0, 10.0).conflicts_with(&apart, 0.0));
        assert!(square(0.0, 0.0, 10.0).conflicts_with(&apart, 1.5));
    }

    #[test]
    fn circle_inside_a_polygon_intersects() {
        let circle = Planar::Circle {
            centre: c(5.0, 5.0),
            radius_m: 1.0,
        };
        assert!(circle.conflicts_with(&square(0.0, 0.0, 10.0), 0.0));
    }

    fn parts(p: &Planar) -> (&geo::Polygon<f64>, [f64; 4]) {
        match p {
            Planar::Polygon { polygon, bbox } => (polygon, *bbox),
            Planar::Circle { .. } => unreachable!("polygons only"),
        }
    }

    /// The filtered test decides as `geo`'s full test does (vertex in polygon, or any pair of
    /// edges meeting), and the point-in-ring test as `geo`'s, on star-shaped polygons snapped to a coarse grid, so that shared
    /// vertices, edges lying on edges and vertices on edges are common; and one polygon inside
    /// the other, where no edges meet.
    #[test]
    fn filtered_polygon_test_decides_as_the_full_test() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
        let star = |rng: &mut rand_chacha::ChaCha8Rng| loop {
            let (cx, cy) = (rng.gen_range(0..12) as f64, rng.gen_range(0..12) as f64);
            let k = rng.gen_range(3..9);
            let ring: Vec<Coord<f64>> = (0..k)
                .map(|i| {
                    let a = std::f64::consts::TAU * (i as f64 + rng.gen_range(0.0..0.8)) / k as f64;
                    let r = rng.gen_range(1.0..6.0);
                    c((cx + r * a.cos()).round(), (cy + r * a.sin()).round())
                })
                .collect();
            let mut dedup = ring.clone();
            dedup.dedup();
            if dedup.len() == ring.len() && ring.first() != ring.last() && ring.len() >= 3 {
                return Planar::polygon(ring);
            }
        };
        let (mut same, mut hits, mut inside) = (0, 0, 0);
        for _ in 0..20_000 {
            let (a, b) = (star(&mut rng), star(&mut rng));
            let ((p, pb), (q, qb)) = (parts(&a), parts(&b));
            let full = p.intersects(q);
            assert_eq!(
                polygons_intersect(&p.exterior().0, &pb, &q.exterior().0, &qb),
                full,
                "{p:?} {q:?}"
            );
            // Points on the grid, so on vertices and edges as often as inside or outside.
            for _ in 0..4 {
                let at = c(rng.gen_range(-7..20) as f64, rng.gen_range(-7..20) as f64);
                assert_eq!(
                    in_ring(at, &p.exterior().0),
                    p.intersects(&at),
                    "{at:?} {p:?}"
                );
                inside += usize::from(p.intersects(&at));
            }
            assert_eq!(a.conflicts_with(&b, 0.0), full, "{p:?} {q:?}");
            same += 1;
            hits += usize::from(full);
        }
        assert!(
            hits > 2_000 && same - hits > 2_000,
            "{hits} of {same} intersect"
        );
        assert!(
            inside > 2_000,
            "{inside} of 80,000 points inside or on a polygon"
        );
        // Nested: no edges meet, a vertex decides; both orders.
        let (outer, inner) = (square(0.0, 0.0, 30.0), square(10.0, 10.0, 5.0));
        assert!(outer.conflicts_with(&inner, 0.0) && inner.conflicts_with(&outer, 0.0));
        // A vertex touching the middle of an edge, from outside.
        let apex = Planar::polygon(vec![c(5.0, 10.0), c(8.0, 14.0), c(2.0, 14.0)]);
        assert!(square(0.0, 0.0, 10.0).conflicts_with(&apex, 0.0));
        let above = Planar::polygon(vec![c(5.0, 10.001), c(8.0, 14.0), c(2.0, 14.0)]);
        assert!(!square(0.0, 0.0, 10.0).conflicts_with(&above, 0.0));
    }

    #[test]
    fn polygons_of_more_than_64_edges_are_decided_as_the_full_test() {
        // Either side of the 64 edges up to which the edges near each edge are found as bits.
        use rand::{Rng, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(11);
        let star = |rng: &mut rand_chacha::ChaCha8Rng| {
            let (cx, cy) = (rng.gen_range(0.0..12.0), rng.gen_range(0.0..12.0));
            let k = rng.gen_range(60..70);
            let ring: Vec<Coord<f64>> = (0..k)
                .map(|i| {
                    let a = std::f64::consts::TAU * (i as f64 + rng.gen_range(0.0..0.8)) / k as f64;
                    let r = rng.gen_range(1.0..6.0);
                    c(cx + r * a.cos(), cy + r * a.sin())
                })
                .collect();
            Planar::polygon(ring)
        };
        let mut hits = 0;
        for _ in 0..2_000 {
            let (a, b) = (star(&mut rng), star(&mut rng));
            let ((p, pb), (q, qb)) = (parts(&a), parts(&b));
            let full = p.intersects(q);
            assert_eq!(
                polygons_intersect(&p.exterior().0, &pb, &q.exterior().0, &qb),
                full,
                "{p:?} {q:?}"
            );
            hits += usize::from(full);
        }
        assert!(hits > 200 && hits < 1_800, "{hits} of 2,000 intersect");
    }

    #[test]
    fn concave_notch_does_not_intersect() {
        // A "U": the small square sits in the notch without touching it.
        let u = Planar::polygon(vec![
            c(0.0, 0.0),
            c(30.0, 0.0),
            c(30.0, 30.0),
            c(20.0, 30.0),
            c(20.0, 10.0),
            c(10.0, 10.0),
            c(10.0, 30.0),
            c(0.0, 30.0),
        ]);
        let inner = square(12.0, 15.0, 6.0);
        assert!(
            !u.conflicts_with(&inner, 0.0),
            "bounding boxes overlap, shapes do not"
        );
        assert!(!u.conflicts_with(&inner, 2.0));
        assert!(u.conflicts_with(&inner, 2.01));
    }
}
