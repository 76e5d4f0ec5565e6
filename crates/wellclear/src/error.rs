//! Errors of the file parsers and of configuration checks.

use std::fmt;

/// Where in an input file something went wrong: file name, 1-based line and column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    /// The file name the caller gave the parser.
    pub file: String,
    /// 1-based line number.
    pub line: usize,
    /// 1-based column (in characters) where the offending field starts.
    pub column: usize,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.file, self.line, self.column)
    }
}

/// A rejected `.conf` or `.daa` input. The message says what was wrong; the location says where.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{location}: {kind}")]
pub struct ParseError {
    /// Where the problem is.
    pub location: Location,
    /// What the problem is.
    pub kind: ErrorKind,
}

impl ParseError {
    /// `kind` at `line` and `column` of `file`.
    pub(crate) fn at(file: &str, line: usize, column: usize, kind: ErrorKind) -> ParseError {
        ParseError {
            location: Location {
                file: file.to_string(),
                line,
                column,
            },
            kind,
        }
    }

    /// Refuses an input `file` of more than `limit` bytes.
    pub(crate) fn check_size(file: &str, text: &str, limit: usize) -> Result<(), ParseError> {
        if text.len() > limit {
            let kind = ErrorKind::TooLarge {
                bytes: text.len(),
                limit,
            };
            return Err(ParseError::at(file, 1, 1, kind));
        }
        Ok(())
    }

    /// Refuses line `n` of `file` when it is longer than `limit` bytes.
    pub(crate) fn check_line(
        file: &str,
        n: usize,
        l: &str,
        limit: usize,
    ) -> Result<(), ParseError> {
        if l.len() > limit {
            let kind = ErrorKind::LineTooLong {
                bytes: l.len(),
                limit,
            };
            return Err(ParseError::at(file, n, 1, kind));
        }
        Ok(())
    }
}

/// What was wrong with an input file.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The input is larger than the named limit.
    #[error("input is {bytes} bytes, more than the limit of {limit} bytes")]
    TooLarge {
        /// Size of the input.
        bytes: usize,
        /// The limit.
        limit: usize,
    },
    /// A line is longer than the named limit.
    #[error("line is {bytes} bytes, more than the limit of {limit} bytes")]
    LineTooLong {
        /// Length of the line.
        bytes: usize,
        /// The limit.
        limit: usize,
    },
    /// More items (rows, keys, columns, alerters...) than the named limit.
    #[error("more than {limit} {what}")]
    TooMany {
        /// What was counted.
        what: &'static str,
        /// The limit.
        limit: usize,
    },
    /// A line does not have the expected shape.
    #[error("{0}")]
    Syntax(String),
    /// A unit name that is not in the table of known units.
    #[error("unknown unit [{0}]")]
    UnknownUnit(String),
    /// A unit of the wrong dimension for this field.
    #[error("unit [{unit}] is not a unit of {expected} for {field}")]
    WrongUnit {
        /// The unit given.
        unit: String,
        /// The dimension the field needs.
        expected: &'static str,
        /// The field.
        field: String,
    },
    /// A value that is not a finite number where one is required.
    #[error("{field}: '{value}' is not a finite number")]
    NotANumber {
        /// The field.
        field: String,
        /// The text found.
        value: String,
    },
    /// A value outside its valid range.
    #[error("{field}: {value} is out of range ({range})")]
    OutOfRange {
        /// The field.
        field: String,
        /// The value found.
        value: String,
        /// The valid range, in words.
        range: &'static str,
    },
    /// A required column or key is absent.
    #[error("missing {0}")]
    Missing(String),
    /// A key that no DAIDALUS v2.0.4 configuration has.
    #[error("unknown configuration key '{0}'")]
    UnknownKey(String),
    /// The same column, key or aircraft appears twice where it must be unique.
    #[error("duplicate {0}")]
    Duplicate(String),
    /// A sensor-uncertainty-mitigation (SUM) configuration: not supported yet.
    #[error(
        "'{key}' selects the sensor-uncertainty-mitigation (SUM) detector {class}; SUM configurations are not supported yet"
    )]
    SumNotSupported {
        /// The key that selects the SUM detector.
        key: String,
        /// The detector class named.
        class: String,
    },
    /// A feature of DAIDALUS that this implementation does not provide.
    #[error("'{key}' = {value}: {why}")]
    Unsupported {
        /// The key.
        key: String,
        /// Its value.
        value: String,
        /// Why it is not supported.
        why: &'static str,
    },
}
