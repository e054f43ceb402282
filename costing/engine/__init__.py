"""The cost engine: pure functions from quantities, node costs and a policy to costs and who pays them."""
