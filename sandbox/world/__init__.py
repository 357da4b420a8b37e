"""The simulated SaaS business: a catalog and price book, accounts simulated one by one
(`account/`), written as Stripe fixtures, an app database, cost sheets and FX rates
(`generate`), with the ground truth the warehouse must equal (`ground_truth`, `mrr`)."""
