module aios-onboarding/world/standins

go 1.24
