//! radtox-pipeline (in progress)
