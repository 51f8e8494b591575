//! A seeded xorshift64 generator for the bounded property tests: reproducible runs, no dependency.

/// The generator; the same seed gives the same sequence.
pub(crate) struct Seeded(u64);

impl Seeded {
    /// Returns a generator for `seed` (zero, which xorshift cannot leave, becomes one).
    pub(crate) fn new(seed: u64) -> Self {
        Seeded(seed.max(1))
    }

    /// Returns the next number.
    pub(crate) fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    /// Returns a number below `bound` (which must not be zero).
    pub(crate) fn below(&mut self, bound: usize) -> usize {
        usize::try_from(self.next() % bound as u64).expect("below a usize bound")
    }

    /// Returns one of `items`.
    pub(crate) fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }

    /// Returns up to `most` bytes of any value.
    pub(crate) fn bytes(&mut self, most: usize) -> Vec<u8> {
        let length = self.below(most + 1);
        (0..length).map(|_| self.next() as u8).collect()
    }

    /// Returns up to `most` characters drawn from `alphabet`.
    pub(crate) fn text(&mut self, alphabet: &[u8], most: usize) -> String {
        let length = self.below(most + 1);
        (0..length).map(|_| char::from(*self.pick(alphabet))).collect()
    }
}
