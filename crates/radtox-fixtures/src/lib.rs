//! radtox-fixtures (in progress)
