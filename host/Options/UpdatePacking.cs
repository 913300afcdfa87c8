namespace TreePO.Hosting.Options;

/// <summary>How the policy update lays out its samples (Trainer:Packing): tree-packed rows or a padded row each.</summary>
public enum UpdatePacking { On, Off }
