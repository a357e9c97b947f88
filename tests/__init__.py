"""The test suite: a package, so that its helpers (zoo, model_state, captum_ref) import as
`tests.zoo` etc. without any sys.path change."""
