//! radtox-dose (in progress)
