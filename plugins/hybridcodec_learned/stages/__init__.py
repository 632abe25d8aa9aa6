"""The learned stages, one file each, found through the entry-point group
``hybridcodec.stages``; none imports torch until its network runs."""
