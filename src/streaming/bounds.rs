//! How big one result message may get, whatever the data: a row batch never passes
//! [`MAX_MESSAGE_BYTES`] (API.md: batches stay under 1 MiB, a quarter of the 4 MiB standard
//! clients accept), and a row that cannot fit in one message ends the stream with
//! RESOURCE_EXHAUSTED naming its widest column, before any of it is held or encoded.

use tonic::Status;

use super::columns::ColumnInfo;

/// The most bytes of row data one message carries.
pub(crate) const MAX_MESSAGE_BYTES: usize = 1024 * 1024;
/// The most bytes one row may take: a message's room less its framing.
pub(crate) const MAX_ROW_BYTES: usize = MAX_MESSAGE_BYTES - 16 * 1024;
/// What a value costs in a message beyond its bytes (tags and lengths), at most.
const VALUE_OVERHEAD: usize = 12;

/// The size of one row, measured from its cells before it is encoded.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct RowSize {
    /// The row's bytes in a message, an upper bound.
    pub bytes: usize,
    /// The widest cell: its column index and bytes.
    widest: (usize, usize),
}

impl RowSize {
    /// Measures a row from the byte length of each cell, in column order.
    pub(crate) fn of(cells: impl IntoIterator<Item = usize>) -> Self {
        let mut size = RowSize::default();
        for (index, bytes) in cells.into_iter().enumerate() {
            size.bytes += bytes + VALUE_OVERHEAD;
            if bytes > size.widest.1 {
                size.widest = (index, bytes);
            }
        }
        size
    }

    /// Returns RESOURCE_EXHAUSTED when the row cannot fit in one message; `row` counts from 1.
    pub(crate) fn check(&self, columns: &[ColumnInfo], row: u64, subject: &str) -> Result<(), Status> {
        if self.bytes <= MAX_ROW_BYTES {
            return Ok(());
        }
        Err(too_wide(columns, row, self.widest.0, self.bytes, subject))
    }
}

/// Returns the status for a row of at least `bytes` whose widest value is in column `index`.
pub(crate) fn too_wide(columns: &[ColumnInfo], row: u64, index: usize, bytes: usize, subject: &str) -> Status {
    let column = columns.get(index).map_or_else(|| format!("number {}", index + 1), |info| info.column.name.clone());
    let column = crate::metabase::safe_text(&column);
    Status::resource_exhausted(format!(
        "row {row} of {subject} needs {} or more, more than the {} one result message carries; its widest value \
         is in column `{column}`: select less of that column (a substring) or read the result with ExportQuery",
        mebibytes(bytes),
        mebibytes(MAX_ROW_BYTES),
    ))
}

fn mebibytes(bytes: usize) -> String {
    format!("{:.1} MiB", bytes as f64 / 1_048_576.0)
}

/// Reports whether a row of `row_bytes` must start a new batch: the current one holds rows and
/// would pass [`MAX_MESSAGE_BYTES`] with it.
pub(crate) fn starts_new_batch(batch_rows: usize, batch_bytes: usize, row_bytes: usize) -> bool {
    batch_rows > 0 && batch_bytes + row_bytes > MAX_MESSAGE_BYTES - 4 * 1024
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_row_past_the_message_limit_names_its_widest_column() {
        let columns = vec![ColumnInfo::untyped("ID"), ColumnInfo::untyped("BODY")];
        let size = RowSize::of([3, 5 * 1024 * 1024]);
        let status = size.check(&columns, 7, "card 4").expect_err("too wide");
        assert_eq!(status.code(), tonic::Code::ResourceExhausted);
        assert!(status.message().contains("row 7 of card 4"), "{}", status.message());
        assert!(status.message().contains("column `BODY`"), "{}", status.message());
        assert!(status.message().contains("5.0 MiB"), "{}", status.message());
    }

    #[test]
    fn a_row_that_fits_passes_and_many_small_values_count_their_overhead() {
        let columns = vec![ColumnInfo::untyped("A")];
        assert!(RowSize::of([MAX_ROW_BYTES - VALUE_OVERHEAD]).check(&columns, 1, "q").is_ok());
        assert!(RowSize::of([MAX_ROW_BYTES - VALUE_OVERHEAD + 1]).check(&columns, 1, "q").is_err());
        let many = RowSize::of(std::iter::repeat_n(0, MAX_ROW_BYTES / VALUE_OVERHEAD + 1));
        assert!(many.check(&columns, 1, "q").is_err(), "a million empty values do not fit either");
    }

    #[test]
    fn a_batch_is_sent_before_a_row_would_take_it_past_the_limit() {
        assert!(!starts_new_batch(0, 0, MAX_ROW_BYTES), "an empty batch takes any row that fits");
        assert!(starts_new_batch(1, 128 * 1024, MAX_ROW_BYTES));
        assert!(!starts_new_batch(1, 128 * 1024, 1000));
    }
}
