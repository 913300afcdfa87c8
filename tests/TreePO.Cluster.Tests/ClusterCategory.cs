// Every test here runs real processes (silos, clients, Redis, PostgreSQL) or a multi-silo cluster, so the whole
// assembly is the "cluster" category: `dotnet test TreePO.sln -c Release --filter "Category!=cluster"` is the fast subset.
[assembly: Xunit.Trait("Category", "cluster")]
