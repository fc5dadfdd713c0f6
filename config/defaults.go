package config

// Default is the configuration of the original design: an account-agnostic
// stack in us-east-1, two AZs with one NAT gateway, a db.t3.micro primary and one worker,
// cache.t3.micro, no domain.
func Default() Config {
	return Config{
		StackName:  "SupabaseStack",
		Env:        Env{Region: "us-east-1"},
		Tags:       map[string]string{"project": "supabase-on-aws"},
		AdminCidrs: []string{},
		Network: Network{
			Cidr:        "10.0.0.0/16",
			MaxAzs:      2,
			NatGateways: 1,
			FlowLogs:    true,
		},
		Database: Database{
			EngineVersion: "16.13",
			RemovalPolicy: "snapshot",
			Primary:       defaultInstance(),
			Workers:       []Worker{defaultWorker("supabase-worker-01")},
		},
		Cache: Cache{
			NodeType:          "cache.t3.micro",
			EngineVersion:     "7.1",
			Replicas:          1,
			TransitEncryption: true,
		},
		Services: Services{
			Kong:          Service{CPU: 512, MemoryMiB: 1024, DesiredCount: 1},
			TenantManager: Service{CPU: 512, MemoryMiB: 1024, DesiredCount: 1},
			Studio:        Service{CPU: 512, MemoryMiB: 1024, DesiredCount: 1},
			Functions:     Service{CPU: 256, MemoryMiB: 512, DesiredCount: 1},
			PostgresMeta:  Service{CPU: 256, MemoryMiB: 512, DesiredCount: 1},
		},
		TenantLambda:  TenantLambda{MemoryMiB: 512, TimeoutSeconds: 30, ReservedConcurrency: intPtr(10), AccountConcurrency: 1000, LogGroupOnDelete: "delete"},
		EdgeFunctions: EdgeFunctions{MemoryMiB: 512, TimeoutSeconds: 150, ReservedConcurrency: intPtr(5), KeepVersions: 5},
		TenantDatabase: TenantDatabase{
			ConnectionLimit: 4, ReservedConnections: 20,
			AnonStatementTimeoutSeconds: 3, AuthenticatedStatementTimeoutSeconds: 8, ServiceRoleStatementTimeoutSeconds: 60,
		},
		Gateway: Gateway{JwtTTLSeconds: 300, CacheTTLSeconds: 300, RateLimit: RateLimit{RPS: 100, Burst: 200}},
		Logs:    Logs{RetentionDays: 30},
		Alarms: Alarms{Tenant: TenantAlarms{
			Kinds: []string{"gateway-5xx"}, Gateway5xxThreshold: 10, LambdaErrorsThreshold: 5,
			LambdaThrottlesThreshold: 1, LambdaDurationRatio: 0.8,
		}},
		StudioAuth: StudioAuthAuto,
	}
}

func defaultInstance() Instance {
	return Instance{
		InstanceClass:          "db.t3.micro",
		AllocatedStorageGiB:    20,
		MaxAllocatedStorageGiB: 100,
		MultiAz:                false,
		BackupRetentionDays:    7,
		DeletionProtection:     true,
	}
}

func defaultWorker(id string) Worker {
	// 20 tenants x 4 connections + 20 reserved fit the 112 connections of
	// a db.t3.micro.
	return Worker{ID: id, MaxTenants: 20, Instance: defaultInstance()}
}

func intPtr(n int) *int { return &n }
