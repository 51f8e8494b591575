//! A streaming xlsx writer: the workbook's fixed parts, then one worksheet whose rows are deflated
//! into the zip as they arrive, so a million-row export never sits in memory.

use std::io::{self, Write};

use rusqlite::types::ValueRef;
use zip::ZipWriter;
use zip::write::{SimpleFileOptions, StreamWriter};

use crate::query::columns::ResultColumn;
use crate::query::values::export_text;

const CONTENT_TYPES: &str = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/><Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/></Types>"#;
const ROOT_RELS: &str = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>"#;
const WORKBOOK: &str = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets><sheet name="Query result" sheetId="1" r:id="rId1"/></sheets></workbook>"#;
const WORKBOOK_RELS: &str = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/></Relationships>"#;
const SHEET_START: &str = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>"#;
const SHEET_END: &str = "</sheetData></worksheet>";

/// Writes an xlsx workbook with one sheet into `W` as rows arrive.
pub(super) struct XlsxWriter<W: Write> {
    zip: Option<ZipWriter<StreamWriter<W>>>,
    row: Vec<u8>,
}

fn escape(text: &str, output: &mut Vec<u8>) {
    for character in text.chars() {
        match character {
            '&' => output.extend_from_slice(b"&amp;"),
            '<' => output.extend_from_slice(b"&lt;"),
            '>' => output.extend_from_slice(b"&gt;"),
            '"' => output.extend_from_slice(b"&quot;"),
            character if (character as u32) < 0x20 && !matches!(character, '\t' | '\n' | '\r') => {}
            character => {
                let mut encoded = [0u8; 4];
                output.extend_from_slice(character.encode_utf8(&mut encoded).as_bytes());
            }
        }
    }
}

fn text_cell(text: &str, output: &mut Vec<u8>) {
    output.extend_from_slice(br#"<c t="inlineStr"><is><t>"#);
    escape(text, output);
    output.extend_from_slice(b"</t></is></c>");
}

impl<W: Write> XlsxWriter<W> {
    /// Returns a writer over `inner`; nothing is written until [`XlsxWriter::begin`].
    pub(super) fn new(inner: W) -> Self {
        XlsxWriter { zip: Some(ZipWriter::new_stream(inner)), row: Vec::with_capacity(1024) }
    }

    fn zip(&mut self) -> io::Result<&mut ZipWriter<StreamWriter<W>>> {
        self.zip.as_mut().ok_or_else(|| io::Error::other("workbook already finished"))
    }

    /// Writes the workbook parts and the header row of titles.
    pub(super) fn begin(&mut self, titles: &[String]) -> io::Result<()> {
        let options = SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
        let zip = self.zip()?;
        for (name, content) in [
            ("[Content_Types].xml", CONTENT_TYPES),
            ("_rels/.rels", ROOT_RELS),
            ("xl/workbook.xml", WORKBOOK),
            ("xl/_rels/workbook.xml.rels", WORKBOOK_RELS),
        ] {
            zip.start_file(name, options).map_err(io::Error::other)?;
            zip.write_all(content.as_bytes())?;
        }
        zip.start_file("xl/worksheets/sheet1.xml", options).map_err(io::Error::other)?;
        zip.write_all(SHEET_START.as_bytes())?;
        let mut header = b"<row>".to_vec();
        for title in titles {
            text_cell(title, &mut header);
        }
        header.extend_from_slice(b"</row>");
        self.zip()?.write_all(&header)
    }

    /// Writes one data row.
    pub(super) fn row(
        &mut self,
        values: &[ValueRef<'_>],
        columns: &[ResultColumn],
        format_rows: bool,
    ) -> io::Result<()> {
        let mut row = std::mem::take(&mut self.row);
        row.clear();
        row.extend_from_slice(b"<row>");
        for (value, column) in values.iter().zip(columns) {
            match value {
                ValueRef::Null => row.extend_from_slice(b"<c/>"),
                ValueRef::Integer(integer) if column.is_boolean() => {
                    row.extend_from_slice(format!(r#"<c t="b"><v>{}</v></c>"#, i64::from(*integer != 0)).as_bytes())
                }
                ValueRef::Integer(integer) if !format_rows => {
                    row.extend_from_slice(format!("<c><v>{integer}</v></c>").as_bytes())
                }
                ValueRef::Real(real) if !format_rows && real.is_finite() => {
                    row.extend_from_slice(format!("<c><v>{real}</v></c>").as_bytes())
                }
                other => text_cell(&export_text(*other, column, format_rows).unwrap_or_default(), &mut row),
            }
        }
        row.extend_from_slice(b"</row>");
        let result = self.zip()?.write_all(&row);
        self.row = row;
        result
    }

    /// Closes the sheet and writes the zip's central directory.
    pub(super) fn finish(&mut self) -> io::Result<()> {
        let mut zip = self.zip.take().ok_or_else(|| io::Error::other("workbook already finished"))?;
        zip.write_all(SHEET_END.as_bytes())?;
        zip.finish().map_err(io::Error::other)?;
        Ok(())
    }
}
