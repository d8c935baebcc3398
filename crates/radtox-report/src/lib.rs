//! radtox-report (in progress)
