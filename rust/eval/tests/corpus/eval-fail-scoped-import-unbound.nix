scopedImport { } ./lib/scoped
