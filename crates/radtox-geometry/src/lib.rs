//! radtox-geometry (in progress)
