//! radtox-dicom (in progress)
